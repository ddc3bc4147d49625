/** previous/next snapshots → what opened and what closed. Pure. */
import { listenerKey, type Listener } from '../listener.js';

export interface ListenerDiff {
  opened: Listener[];
  closed: Listener[];
}

export function diffListeners(previous: readonly Listener[], next: readonly Listener[]): ListenerDiff {
  const before = new Map(previous.map((l) => [listenerKey(l), l]));
  const after = new Set<string>();
  const opened: Listener[] = [];
  for (const l of next) {
    const k = listenerKey(l);
    after.add(k);
    if (!before.has(k)) opened.push(l);
  }
  const closed = previous.filter((l) => !after.has(listenerKey(l)));
  return { opened, closed };
}
