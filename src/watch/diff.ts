/** previous/next snapshots → what opened and what closed. Pure. */
import { compareListeners, sameListener, type Listener } from '../listener.js';
import { ListenerSet } from '../listener-set.js';

export interface ListenerDiff {
  opened: Listener[];
  closed: Listener[];
}

/** The same listener objects in the same order: what a Scanner returns when nothing changed. */
function unchanged(previous: readonly Listener[], next: readonly Listener[]): boolean {
  if (previous.length !== next.length) return false;
  for (let i = 0; i < next.length; i++) if (previous[i] !== next[i]) return false;
  return true;
}

/** O(previous + next), and no strings built unless an inode is shared (see ListenerSet). */
export function diffListeners(previous: readonly Listener[], next: readonly Listener[]): ListenerDiff {
  if (unchanged(previous, next)) return { opened: [], closed: [] };
  const before = new ListenerSet(previous);
  const after = new ListenerSet(next);
  const opened = next.filter((l) => !before.has(l));
  const closed = previous.filter((l) => !after.has(l));
  return { opened, closed };
}

/** Sorted by compareListeners without ties, and no address written with its scope (`fe80::1%eth0`). */
function plainlySorted(listeners: readonly Listener[]): boolean {
  for (let k = 0; k < listeners.length; k++) {
    const l = listeners[k] as Listener;
    if (l.address.includes('%')) return false;
    if (k > 0 && compareListeners(listeners[k - 1] as Listener, l) >= 0) return false;
  }
  return true;
}

/**
 * The same diff for two arrays sorted by compareListeners (what a Scanner returns, filtered
 * or not): one merge walk, no sets, so a scan under churn allocates only what changed. Null
 * when the input is not plainly sorted (out of order, ties, scoped addresses, which two
 * spellings can share): then use diffListeners.
 */
export function diffSorted(previous: readonly Listener[], next: readonly Listener[]): ListenerDiff | null {
  if (unchanged(previous, next)) return { opened: [], closed: [] };
  if (!plainlySorted(previous) || !plainlySorted(next)) return null;
  const opened: Listener[] = [];
  const closed: Listener[] = [];
  let i = 0;
  let j = 0;
  while (i < previous.length && j < next.length) {
    const p = previous[i] as Listener;
    const n = next[j] as Listener;
    const c = p === n ? 0 : compareListeners(p, n);
    if (c < 0) closed.push(previous[i++] as Listener);
    else if (c > 0) opened.push(next[j++] as Listener);
    else if (p === n || sameListener(p, n)) {
      i++; // the same socket (perhaps rebuilt, e.g. its owner became known): no change
      j++;
    } else return null;
  }
  while (i < previous.length) closed.push(previous[i++] as Listener);
  while (j < next.length) opened.push(next[j++] as Listener);
  return { opened, closed };
}
