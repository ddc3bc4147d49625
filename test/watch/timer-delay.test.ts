import { describe, expect, it } from 'vitest';
import { Schedule } from '../../src/watch/schedule.js';
import { POLLER_CHECK_MS, timerDelayMs, type TimerState } from '../../src/watch/timer-delay.js';

const policy = { cpuBudget: 0.003, minMs: 100, maxMs: 5_000 };
const poller = { safetyNetMs: 5_000, ownsInterval: true };
const state = (over: Partial<TimerState> = {}): TimerState => ({
  trigger: poller,
  schedule: new Schedule(policy),
  ownerRetryMs: null,
  watchesProcess: false,
  ...over,
});

describe('timerDelayMs', () => {
  it('follows the schedule when the timer is the trigger, and paces the safety net under tracefs', () => {
    expect(timerDelayMs(state({ trigger: { safetyNetMs: null } }))).toBe(100);
    expect(timerDelayMs(state({ trigger: { safetyNetMs: 2_000 } }))).toBe(2_000);
  });

  it('with a trigger that polls by itself and nothing to retry, checks once a minute', () => {
    expect(timerDelayMs(state())).toBe(POLLER_CHECK_MS);
    expect(POLLER_CHECK_MS).toBe(60_000);
  });

  it('runs at the safety net while a scan failed or a target process may exit', () => {
    expect(timerDelayMs(state({ watchesProcess: true }))).toBe(5_000);
    const failing = new Schedule(policy);
    failing.failed();
    expect(failing.failing).toBe(true);
    expect(timerDelayMs(state({ schedule: failing }))).toBe(5_000);
  });

  it('looks for an owner not found yet when its back-off says, never sooner than the safety net nor later than the check', () => {
    expect(timerDelayMs(state({ ownerRetryMs: 0 }))).toBe(5_000);
    expect(timerDelayMs(state({ ownerRetryMs: 16_000 }))).toBe(16_000);
    expect(timerDelayMs(state({ ownerRetryMs: 90_000 }))).toBe(POLLER_CHECK_MS);
    expect(timerDelayMs(state({ ownerRetryMs: 16_000, watchesProcess: true }))).toBe(5_000);
  });

  it('never shortens a longer delay the schedule asks for', () => {
    const fixed = new Schedule({ ...policy, fixedMs: 120_000 });
    expect(timerDelayMs(state({ schedule: fixed }))).toBe(120_000);
  });
});
