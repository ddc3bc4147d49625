/** previous/next snapshots → what opened and what closed. Pure. */
import type { Listener } from '../listener.js';
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
