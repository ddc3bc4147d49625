import { describe, expect, it } from 'vitest';
import { ownTickCostMs, Schedule, type TickReadings } from '../../src/watch/schedule.js';

const policy = { cpuBudget: 0.005, minMs: 100, maxMs: 5000 };

/** Readings of a periodic tick that cost `ms` of CPU and of wall time. */
const tick = (ms: number, extra: Partial<TickReadings> = {}): TickReadings => ({
  cpuStartMs: 0,
  cpuEndMs: ms,
  wallStartMs: 0,
  wallEndMs: ms,
  attributionMs: 0,
  spawned: false,
  periodic: true,
  ...extra,
});

/**
 * Replays a recording: ticks `everyMs` apart, each costing `tickMs` (CPU and wall), with
 * `hostCpuMs` of CPU burnt by the host program between one tick's end and the next one's
 * start. Returns the delay the schedule chose after each tick.
 */
function replay(ticks: number, tickMs: number, hostCpuMs: number, everyMs = 100): number[] {
  const s = new Schedule(policy);
  const delays: number[] = [];
  let cpu = 1_000;
  let wall = 5_000;
  for (let i = 0; i < ticks; i++) {
    const start = { cpuStartMs: cpu, wallStartMs: wall };
    cpu += tickMs;
    wall += tickMs;
    s.record({ ...start, cpuEndMs: cpu, wallEndMs: wall, attributionMs: 0, spawned: false, periodic: true });
    delays.push(s.nextDelayMs());
    cpu += hostCpuMs; // the host's busy loop, between ticks
    wall += everyMs;
  }
  return delays;
}

describe('Schedule', () => {
  it('keeps scanning under the CPU budget, within the floor and the ceiling', () => {
    const cheap = new Schedule(policy);
    cheap.record(tick(0.05)); // a 50 µs netlink scan
    expect(cheap.nextDelayMs()).toBe(100);
    const spawny = new Schedule(policy);
    spawny.record(tick(3, { spawned: true })); // a 3 ms spawn of ss
    expect(spawny.nextDelayMs()).toBe(600);
    const slow = new Schedule(policy);
    slow.record(tick(200));
    expect(slow.nextDelayMs()).toBe(5000);
  });

  it('backs off on errors and recovers on the first success', () => {
    const s = new Schedule(policy);
    s.record(tick(0.05));
    s.failed();
    expect(s.nextDelayMs()).toBe(200);
    s.failed();
    s.failed();
    expect(s.nextDelayMs()).toBe(800);
    for (let i = 0; i < 20; i++) s.failed();
    expect(s.nextDelayMs()).toBe(5000);
    s.record(tick(0.05));
    expect(s.nextDelayMs()).toBe(100);
  });

  it('honours a fixed interval', () => {
    const s = new Schedule({ ...policy, fixedMs: 250 });
    s.record(tick(10));
    expect(s.nextDelayMs()).toBe(250);
    expect(s.nextDelayMs(1_000)).toBe(250); // a trigger's safety net does not override the user's interval
  });

  it("paces a trigger's safety net: at least its pace, never above the ceiling", () => {
    const s = new Schedule(policy);
    s.record(tick(0.05));
    expect(s.nextDelayMs(1_000)).toBe(1_000);
    expect(new Schedule({ ...policy, maxMs: 400 }).nextDelayMs(1_000)).toBe(400);
    const costly = new Schedule(policy);
    costly.record(tick(10)); // 10 ms / 0.5 % = 2 s: the budget still wins over a faster safety net
    expect(costly.nextDelayMs(1_000)).toBe(2_000);
  });
});

describe('Schedule prices a tick on its own work', () => {
  it('never charges what the host program does between ticks', () => {
    const idle = replay(30, 0.2, 0);
    const busy = replay(30, 0.2, 50); // a library user's loop burning 50 ms of CPU per 100 ms
    expect(busy).toEqual(idle);
    expect(busy.every((d) => d === 100)).toBe(true);
  });

  it("takes the smaller of wall time and process CPU: other threads' CPU and the OS running others are not the watcher's", () => {
    // The host's worker threads burnt 40 ms while the 0.3 ms tick ran on the main thread.
    expect(ownTickCostMs(tick(0.3, { cpuEndMs: 40.3 }))).toBeCloseTo(0.3);
    // The OS ran other processes for 40 ms in the middle of a 0.3 ms tick.
    expect(ownTickCostMs(tick(0.3, { wallEndMs: 40.3 }))).toBeCloseTo(0.3);
    // A spawned ss costs CPU in another process: the wall time bounds it.
    expect(ownTickCostMs(tick(0.3, { wallEndMs: 4, spawned: true }))).toBeCloseTo(4);
  });

  it('leaves owner attribution out of the cost', () => {
    expect(ownTickCostMs(tick(5, { attributionMs: 4.5 }))).toBeCloseTo(0.5);
    expect(ownTickCostMs(tick(1, { attributionMs: 3 }))).toBe(0);
  });

  it('does not charge the first scan nor ticks that walked /proc for owners', () => {
    const s = new Schedule(policy);
    expect(s.record(tick(800, { periodic: false }))).toBeNull(); // the first walk over 120k fds
    expect(s.nextDelayMs()).toBe(100);
    expect(s.record(tick(0.2))).toBeCloseTo(0.2);
    expect(s.record(tick(300, { periodic: false }))).toBeNull();
    expect(s.tickCostMs()).toBeCloseTo(0.2);
    expect(s.nextDelayMs()).toBe(100);
  });

  it("is not stalled by a garbage collection that lands in one tick (the first walk's garbage)", () => {
    const s = new Schedule(policy);
    for (let i = 0; i < 4; i++) s.record(tick(0.2));
    s.record(tick(60)); // a major GC paid inside one scan
    expect(s.nextDelayMs()).toBe(100);
    s.record(tick(0.2));
    expect(s.nextDelayMs()).toBe(100);
  });

  it('follows a lasting change in cost within five ticks', () => {
    const s = new Schedule(policy);
    for (let i = 0; i < 9; i++) s.record(tick(0.2));
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      s.record(tick(5)); // e.g. thousands of listeners appeared
      delays.push(s.nextDelayMs());
    }
    expect(delays.slice(0, 4).every((d) => d === 100)).toBe(true);
    expect(delays[4]).toBe(1000);
  });
});
