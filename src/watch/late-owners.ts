/**
 * Owners that arrive after their listener: a scan stops waiting for its owner search once a
 * trigger hints that a listener may have appeared and the scan has run past its patience (a
 * first walk over 100k fds takes ~0.3 s; a new process's listener is found in a few ms). The
 * search goes on (owner-searches.ts), the next scan reports what opened meanwhile, and the
 * owners follow as `update` events.
 */
import { performance } from 'node:perf_hooks';
import type { Listener } from '../listener.js';

/** How long from its start a scan waits for its owner search once a listener may have appeared. */
export const OWNER_PATIENCE_MS = 20;

/**
 * How long what answers about owners (kill, the mcp tools) skips looks with an owner search
 * going on (one walk: ~0.3 s at 100k fds). Past it (searches back to back under churn) it
 * takes the look as it is, those owners unknown, rather than keep its caller waiting.
 */
export const OWNERS_WAIT_MS = 2_000;

/**
 * Settles `ms` after `fromMs` (performance.now()) once `asked` has, without holding the
 * process open; at once when that time has passed (a timer would add its 1 ms floor).
 */
export function patience(asked: Promise<void>, fromMs: number, ms: number): Promise<void> {
  return asked.then(() => {
    const leftMs = fromMs + ms - performance.now();
    if (leftMs <= 0) return;
    return new Promise((resolve) => setTimeout(resolve, leftMs).unref());
  });
}

/**
 * The listeners among `next` that are `attributed` (returned before without an owner, now
 * with one), but not `opened`: a filter that needs the owner lets such a listener through
 * only now, and then it is new to the reader, not better known.
 */
export function ownedLate(next: readonly Listener[], attributed: readonly number[], opened: readonly Listener[]): Listener[] {
  const inodes = new Set(attributed);
  const fresh = new Set(opened);
  return next.filter((l) => inodes.has(l.inode) && !fresh.has(l));
}
