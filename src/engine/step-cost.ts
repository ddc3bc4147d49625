/** What a host watcher's steps cost: process CPU time, and a part's cost as the lesser of wall and CPU. */
import { cpuMs } from '../watch/cpu-time.js';

export { cpuMs };

/**
 * What the work since (`wallMs`, `cpuStartMs`) cost: the lesser of wall and CPU time. Every
 * part of a step is priced this way, so that parts can be subtracted from the whole: on a
 * loaded machine wall time runs far ahead of CPU time, and a part priced on wall would hide
 * the rest of the step's cost from the budget.
 */
export const costSince = (wallMs: number, cpuStartMs: number): number =>
  Math.max(0, Math.min(performance.now() - wallMs, cpuMs() - cpuStartMs));
