/**
 * How long a watcher waits before its next scan on the timer: the schedule's delay, except
 * when the trigger polls by itself (the addon's poller thread looks at the whole table at least
 * every maxInterval and wakes the watcher on any change, so a scan of the watcher's own would
 * find nothing the poller did not). Then the timer runs at the trigger's safety-net pace only
 * while something needs the watcher's own scan — a scan that failed, a target process whose
 * exit only a scan notices, an owner due to be looked for again (no sooner than its back-off
 * says) — and otherwise once a minute, as a check.
 */
import type { Trigger } from '../triggers/trigger.js';
import type { Schedule } from './schedule.js';

/**
 * The check's pace: cheap enough to cost nothing (a quiet scan of 5,000 listeners costs the
 * main thread ~9 ms; every 5 s that was ~0.2 % of a core).
 */
export const POLLER_CHECK_MS = 60_000;

export interface TimerState {
  trigger: Pick<Trigger, 'safetyNetMs' | 'ownsInterval'>;
  schedule: Pick<Schedule, 'nextDelayMs' | 'failing'>;
  /** Until an owner not found yet is due to be looked for again (0: now), or null when none is pending. */
  ownerRetryMs: number | null;
  /** Another process's namespace is watched (netnsPid). */
  watchesProcess: boolean;
}

export function timerDelayMs({ trigger, schedule, ownerRetryMs, watchesProcess }: TimerState): number {
  const { safetyNetMs, ownsInterval } = trigger;
  const delayMs = schedule.nextDelayMs(safetyNetMs ?? 0);
  if (ownsInterval !== true || safetyNetMs === null) return delayMs;
  let waitMs = POLLER_CHECK_MS;
  if (schedule.failing || watchesProcess) waitMs = safetyNetMs;
  if (ownerRetryMs !== null) waitMs = Math.min(waitMs, Math.max(safetyNetMs, ownerRetryMs));
  return Math.max(delayMs, waitMs);
}
