/**
 * A source's rows → the sorted listeners a scan returns, built so that a quiet scan is
 * cheap: a socket that stays is handed out as the same Listener object scan after scan, so
 * a scan where nothing changed builds no listener and no key and sorts nothing, and the
 * watcher's diff sees two identical arrays. Owners are attached here, as the Scanner found them.
 */
import { ListenerSet } from './listener-set.js';
import { compareListeners, sameListener, type Listener, type ProcessInfo, type ProcessRef } from './listener.js';
import type { RawSocket } from './types.js';

/** Whether an IPv6 wildcard socket also accepts IPv4, from what the source said. */
export function dualStackOf(raw: RawSocket): boolean | null {
  if (raw.dualStack !== undefined) return raw.dualStack;
  if (raw.family === 4 || raw.address !== '::') return false;
  return raw.v6only === null ? null : !raw.v6only;
}

function toListener(raw: RawSocket, netns: string | null, owner: ProcessInfo | null, holders: ProcessRef[] | undefined): Listener {
  const listener: Listener = {
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
  if (holders !== undefined) listener.holders = holders;
  return listener;
}

/** Is `l` exactly what toListener would build from this row? Then it can be handed out again. */
function describes(
  l: Listener,
  raw: RawSocket,
  netns: string | null,
  owner: ProcessInfo | null,
  holders: ProcessRef[] | undefined,
): boolean {
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
    l.process === owner &&
    l.holders === holders
  );
}

export class StableListeners {
  /** The last result, sorted, and the index of each listener by inode (updated in place). */
  private previous: Listener[] = [];
  private readonly previousIndex = new Map<number, number>();
  /** marks[i]: the last call that handed out previous[i] (a row seen twice is dropped); grown, never shrunk. */
  private marks = new Uint32Array(0);
  private calls = 0;

  /**
   * The listeners for these rows, sorted, each identity once (the first row wins); a new array
   * every call. With `holdersOf`, each listener carries `holders` (compared by identity, like
   * the owner: hand out the same array while they stay).
   */
  from(
    raws: readonly RawSocket[],
    netns: string | null,
    ownerOf: (inode: number) => ProcessInfo | null,
    holdersOf?: (inode: number) => ProcessRef[],
  ): Listener[] {
    this.calls = (this.calls + 1) >>> 0 || 1; // never 0: the marks start at 0
    const call = this.calls;
    const { previous, previousIndex, marks } = this;
    // Identities of the listeners built (not reused) in this call; a quiet scan builds none.
    let built: ListenerSet | null = null;
    const fresh: Listener[] = [];
    let kept = 0;
    for (const raw of raws) {
      const owner = ownerOf(raw.inode);
      const holders = holdersOf?.(raw.inode);
      const at = previousIndex.get(raw.inode);
      const known = at === undefined ? undefined : previous[at];
      // A non-atomic /proc read can show a row twice: the first one wins.
      if (at !== undefined && known !== undefined && describes(known, raw, netns, owner, holders)) {
        if (marks[at] === call || built?.has(known)) continue;
        marks[at] = call;
        kept++;
        continue;
      }
      const listener = toListener(raw, netns, owner, holders);
      if (at !== undefined && known !== undefined && marks[at] === call && sameListener(known, listener)) continue;
      built ??= new ListenerSet();
      if (!built.add(listener)) continue;
      fresh.push(listener);
    }
    // Every listener handed out before, once each, and nothing else: already sorted and indexed.
    if (built === null && kept === previous.length) return previous.slice();
    const listeners = mergeSorted(previous, marks, call, kept, fresh.sort(compareListeners));
    this.reindex(previous, listeners, call);
    this.previous = listeners;
    return listeners.slice();
  }

  /** The index and marks for `listeners`, updated in place: a scan that changed a little allocates little. */
  private reindex(previous: readonly Listener[], listeners: readonly Listener[], call: number): void {
    const index = this.previousIndex;
    listeners.forEach((l, i) => index.set(l.inode, i)); // a shared inode: the last one wins
    for (let i = 0; i < previous.length; i++) {
      if (this.marks[i] === call) continue;
      const inode = (previous[i] as Listener).inode;
      const at = index.get(inode);
      if (at !== undefined && listeners[at]?.inode !== inode) index.delete(inode); // gone
    }
    // Old marks never equal a later call, so they need no clearing.
    if (this.marks.length < listeners.length) this.marks = new Uint32Array(Math.max(64, listeners.length * 2));
  }
}

/** The `kept` listeners of `previous` marked with `call` (sorted already) merged with `fresh` (sorted). */
function mergeSorted(
  previous: readonly Listener[],
  marks: Uint32Array,
  call: number,
  kept: number,
  fresh: readonly Listener[],
): Listener[] {
  const out = new Array<Listener>(kept + fresh.length);
  let o = 0;
  let f = 0;
  for (let i = 0; i < previous.length; i++) {
    if (marks[i] !== call) continue;
    const l = previous[i] as Listener;
    while (f < fresh.length && compareListeners(fresh[f] as Listener, l) < 0) out[o++] = fresh[f++] as Listener;
    out[o++] = l;
  }
  while (f < fresh.length) out[o++] = fresh[f++] as Listener;
  return out;
}
