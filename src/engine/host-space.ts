/**
 * One network namespace as the host scanner keeps it: its handle, its listeners (stable
 * objects: a socket that stays is the same Listener scan after scan, so a quiet namespace
 * diffs in one pass), the socket inodes it held at the last read, and what went wrong.
 *
 * A namespace that could not be held is tried again at each read: the task a kernel event
 * named (say `ip link set lo up` in a namespace just made) can exit between the readlink that
 * named its namespace and the open that would hold it, while the namespace lives on in the
 * process that made it.
 */
import type { CgroupContainer } from '../containers/cgroup-container.js';
import type { Listener, ListenerContainer } from '../listener.js';
import { StableListeners } from '../stable-listeners.js';
import type { RawSocket } from '../types.js';
import type { HostOwners } from './host-owners.js';
import type { HandleSource, NamespaceHandle } from './namespace-handle.js';

export class Space {
  /** Sorted; with `container` set on each. */
  listeners: Listener[] = [];
  /** Socket inodes at the last successful read. */
  inodes = new Set<number>();
  /** Why the namespace could not be held or read last time; null when it was. */
  problem: string | null;
  /** Monotonic ms of the last read, successful or not. */
  readAtMs = Number.NEGATIVE_INFINITY;
  /** Reads that found a change (opened or closed sockets), decayed: how busy it is. */
  activity = 0;
  /** The container every process in it is in (see soleContainer), as of inventory generation `soleAt`. */
  soleCgroup: CgroupContainer | null = null;
  soleAt = -1;
  /** The listeners of the last read, without `container`. */
  private bases: readonly Listener[] = [];
  private readonly stable = new StableListeners();
  private readonly decorated = new WeakMap<Listener, Listener>();

  private held: NamespaceHandle | null;
  private closed = false;

  /** `open` holds the namespace (it throws when it cannot); tried now and, until it works, at each read. */
  constructor(
    readonly netns: string,
    private readonly open: () => NamespaceHandle,
  ) {
    try {
      this.held = open();
      this.problem = null;
    } catch (e) {
      this.held = null;
      this.problem = (e as Error).message;
    }
  }

  get handle(): NamespaceHandle | null {
    return this.held;
  }

  get source(): HandleSource | null {
    return this.handle?.source ?? null;
  }

  /** The rows now, or null (and `problem` set) when the namespace could not be read. */
  read(members: readonly number[], nowMs: number): RawSocket[] | null {
    this.readAtMs = nowMs;
    if (this.held === null) {
      if (this.closed) return null;
      try {
        this.held = this.open();
      } catch (e) {
        this.problem = (e as Error).message;
        return null;
      }
    }
    // Probed before the read: a change between the two shows at the next probe, never hides.
    this.held.probe();
    try {
      const rows = this.held.read(members);
      this.problem = null;
      return rows;
    } catch (e) {
      this.problem = (e as Error).message;
      return null;
    }
  }

  /** Did the socket counts change since the last probe or read? null: no probe, only a read can tell. */
  probe(): boolean | null {
    return this.held?.probe() ?? null;
  }

  /**
   * Takes the rows of a read: which inodes are new (to find owners for) and which are gone
   * (to forget). Owners are tracked in the host-wide index.
   */
  take(rows: readonly RawSocket[], owners: HostOwners): { unknown: number[]; gone: number[] } {
    const next = new Set<number>();
    const unknown: number[] = [];
    for (const raw of rows) {
      if (raw.inode === 0) continue; // kernel sockets: no identity, no owner
      next.add(raw.inode);
      if (owners.track(raw.inode)) unknown.push(raw.inode);
    }
    const gone: number[] = [];
    for (const inode of this.inodes) if (!next.has(inode)) gone.push(inode);
    const changed = gone.length > 0 || next.size !== this.inodes.size;
    this.activity = this.activity * 0.9 + (changed ? 1 : 0);
    this.inodes = next;
    return { unknown, gone };
  }

  /** Listeners for the rows, owners attached, without `container` (stable objects). */
  base(rows: readonly RawSocket[], owners: HostOwners): Listener[] {
    return this.stable.from(
      rows,
      this.netns,
      (inode) => owners.of(inode).process,
      (inode) => owners.of(inode).holders,
    );
  }

  /** Whether `base` has no decorated copy yet (its container is still to be named). */
  isNew(base: Listener): boolean {
    return !this.decorated.has(base);
  }

  /** Sets the listeners: each base listener with its container, the same object while both stay. */
  settle(bases: readonly Listener[], containerOf: (l: Listener) => ListenerContainer | null): Listener[] {
    this.bases = bases;
    const out: Listener[] = [];
    for (const base of bases) {
      const container = containerOf(base);
      let d = this.decorated.get(base);
      if (d === undefined || d.container !== container) {
        d = { ...base, container };
        this.decorated.set(base, d);
      }
      out.push(d);
    }
    this.listeners = out;
    return out;
  }

  /** Names containers again (the engine answered late, or renamed one): the listeners whose `container` changed. */
  resettle(containerOf: (l: Listener) => ListenerContainer | null): Listener[] {
    const before = this.listeners;
    const after = this.settle(this.bases, containerOf);
    return after.filter((l, i) => l !== before[i]);
  }

  close(): void {
    this.closed = true;
    this.held?.close();
    this.held = null;
  }
}
