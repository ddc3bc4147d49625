/**
 * A source's rows → the sorted listeners a scan returns, built so that a quiet scan is
 * cheap: a socket that stays is handed out as the same Listener object scan after scan, so
 * a scan where nothing changed builds no listener and no key and sorts nothing, and the
 * watcher's diff sees two identical arrays. Owners are attached here, as the Scanner found them.
 */
import { ListenerSet } from './listener-set.js';
import { compareListeners, sameListener, type Listener, type ProcessInfo } from './listener.js';
import type { RawSocket } from './types.js';

function dualStackOf(raw: RawSocket): boolean | null {
  if (raw.dualStack !== undefined) return raw.dualStack;
  if (raw.family === 4 || raw.address !== '::') return false;
  return raw.v6only === null ? null : !raw.v6only;
}

function toListener(raw: RawSocket, netns: string | null, owner: ProcessInfo | null): Listener {
  return {
    protocol: raw.protocol,
    family: raw.family,
    address: raw.address,
    port: raw.port,
    dualStack: dualStackOf(raw),
    interface: raw.interface ?? null,
    inode: raw.inode,
    uid: raw.uid,
    netns,
    process: owner,
  };
}

/** Is `l` exactly what toListener would build from this row? Then it can be handed out again. */
function describes(l: Listener, raw: RawSocket, netns: string | null, owner: ProcessInfo | null): boolean {
  return (
    l.inode === raw.inode &&
    l.port === raw.port &&
    l.protocol === raw.protocol &&
    l.family === raw.family &&
    l.address === raw.address &&
    l.interface === (raw.interface ?? null) &&
    l.uid === raw.uid &&
    l.dualStack === dualStackOf(raw) &&
    l.netns === netns &&
    l.process === owner
  );
}

export class StableListeners {
  /** The last result, sorted, and the index of each listener by inode. */
  private previous: Listener[] = [];
  private previousIndex = new Map<number, number>();
  /** marks[i]: the last call that handed out previous[i] (a row seen twice is dropped). */
  private marks = new Uint32Array(0);
  private calls = 0;

  /** The listeners for these rows, sorted, each identity once (the first row wins); a new array every call. */
  from(raws: readonly RawSocket[], netns: string | null, ownerOf: (inode: number) => ProcessInfo | null): Listener[] {
    this.calls = (this.calls + 1) >>> 0 || 1; // never 0: the marks start at 0
    const call = this.calls;
    const { previous, previousIndex, marks } = this;
    // Identities of the listeners built (not reused) in this call; a quiet scan builds none.
    let built: ListenerSet | null = null;
    const listeners: Listener[] = [];
    for (const raw of raws) {
      const owner = ownerOf(raw.inode);
      const at = previousIndex.get(raw.inode);
      const known = at === undefined ? undefined : previous[at];
      // A non-atomic /proc read can show a row twice: the first one wins.
      if (at !== undefined && known !== undefined && describes(known, raw, netns, owner)) {
        if (marks[at] === call || built?.has(known)) continue;
        marks[at] = call;
        listeners.push(known);
        continue;
      }
      const listener = toListener(raw, netns, owner);
      if (at !== undefined && known !== undefined && marks[at] === call && sameListener(known, listener)) continue;
      built ??= new ListenerSet();
      if (!built.add(listener)) continue;
      listeners.push(listener);
    }
    // Every listener handed out before, once each, and nothing else: already sorted and indexed.
    if (built === null && listeners.length === previous.length) return previous.slice();
    listeners.sort(compareListeners);
    this.previous = listeners;
    this.previousIndex = new Map(listeners.map((l, i) => [l.inode, i]));
    this.marks = new Uint32Array(listeners.length);
    return listeners.slice();
  }
}
