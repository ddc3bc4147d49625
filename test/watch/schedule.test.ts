import { describe, expect, it } from 'vitest';
import { Schedule } from '../../src/watch/schedule.js';

describe('Schedule', () => {
  const policy = { cpuBudget: 0.005, minMs: 100, maxMs: 5000 };

  it('keeps scanning under the CPU budget, within the floor and the ceiling', () => {
    const cheap = new Schedule(policy);
    cheap.succeeded(0.05); // a 50 µs netlink scan
    expect(cheap.nextDelayMs()).toBe(100);
    const spawny = new Schedule(policy);
    spawny.succeeded(3); // a 3 ms spawn of ss
    expect(spawny.nextDelayMs()).toBe(600);
    const slow = new Schedule(policy);
    slow.succeeded(200);
    expect(slow.nextDelayMs()).toBe(5000);
  });

  it('backs off on errors and recovers on the first success', () => {
    const s = new Schedule(policy);
    s.succeeded(0.05);
    s.failed();
    expect(s.nextDelayMs()).toBe(200);
    s.failed();
    s.failed();
    expect(s.nextDelayMs()).toBe(800);
    for (let i = 0; i < 20; i++) s.failed();
    expect(s.nextDelayMs()).toBe(5000);
    s.succeeded(0.05);
    expect(s.nextDelayMs()).toBe(100);
  });

  it('honours a fixed interval', () => {
    const s = new Schedule({ ...policy, fixedMs: 250 });
    s.succeeded(10);
    expect(s.nextDelayMs()).toBe(250);
  });
});

describe('Schedule tick overhead', () => {
  const policy = { cpuBudget: 0.005, minMs: 100, maxMs: 5000 };

  it('adds the mean CPU spent between scans to the cost of a tick', () => {
    const s = new Schedule(policy);
    s.succeeded(0.4);
    s.between(0.2);
    s.between(0.4);
    expect(s.tickCostMs()).toBeCloseTo(0.7);
    expect(s.nextDelayMs()).toBe(140);
  });

  it('caps each gap at 3 ms so a busy host program cannot stall detection', () => {
    const s = new Schedule(policy);
    s.succeeded(0.05);
    for (let i = 0; i < 20; i++) s.between(50);
    expect(s.tickCostMs()).toBeCloseTo(3.05);
    expect(s.nextDelayMs()).toBe(610);
  });

  it('forgets old gaps: the window is the last sixteen', () => {
    const s = new Schedule(policy);
    s.succeeded(0);
    s.between(3);
    for (let i = 0; i < 16; i++) s.between(0.5);
    expect(s.tickCostMs()).toBeCloseTo(0.5);
  });
});
