/**
 * The poll trigger: no hints, the watcher's timer alone decides when to look. The interval
 * policy itself lives with the watcher (src/watch/schedule.ts), because every trigger uses
 * it: as the only clock here, as the safety net and the error back-off under tracefs.
 */
import type { Trigger } from './trigger.js';

const unsubscribed = (): Promise<void> => Promise.resolve();

export const pollTrigger: Trigger = {
  name: 'poll',
  safetyNetMs: null,
  subscribe: () => unsubscribed,
};
