/**
 * scan(): one look at the listening sockets, with owners attached, through the source
 * sources/select-source.ts picks. A Scanner keeps the caches that make repeated scans cheap (the
 * watcher holds one); scan() is a one-shot Scanner.
 */
import { performance } from 'node:perf_hooks';
import { PortwatchError } from './errors.js';
import type { Listener } from './listener.js';
import { netnsOf, processExists } from './namespaces.js';
import { ownershipsOf, UNKNOWN_OWNER, type Ownership } from './owners/ownership.js';
import { newOwnerSearch, OwnerSearches } from './owner-searches.js';
import { warmUpOwnerSearch } from './owners/warm-up.js';
import type { RawSocket, ScanTarget, Source, SourceName } from './sources/source.js';
import { selectSource, type SourceChoice } from './sources/select-source.js';
import { dualStackOf, StableListeners } from './stable-listeners.js';

export { selectSource, SOURCE_CHOICES, type SourceChoice } from './sources/select-source.js';

export interface ScanOptions {
  /**
   * Which way to read sockets: `auto` (default) picks the cheapest that works here.
   * A `Source` object plugs in a source of your own.
   */
  source?: SourceChoice | Source;
  /** Read the network namespace of this process (e.g. a container's) instead of ours. */
  netnsPid?: number;
  /** Attach owning processes (default true). */
  owners?: boolean;
  /**
   * The sockets wanted, asked once per socket before its owner is looked for (it sees every
   * field but `process` and `holders`). Sockets it refuses are left out, so no owner walk
   * is ever spent on them: `waitForPort` on a busy host need not read 100k fds to learn who
   * owns ports it does not wait for. Default: every socket.
   */
  select?: (socket: SocketFields) => boolean;
}

/** What a socket is before its owner is known: a Listener without `process` and `holders`. */
export type SocketFields = Omit<Listener, 'process' | 'holders'>;

/** What the scanner knows of one live socket, stamped with the last scan that saw it. */
interface Known {
  ownership: Ownership;
  pass: number;
  selected: boolean;
}

function socketFields(raw: RawSocket, netns: string | null): SocketFields {
  const { protocol, family, address, port, inode, uid } = raw;
  return { protocol, family, address, port, dualStack: dualStackOf(raw), interface: raw.interface ?? null, inode, uid, netns };
}

export interface ScanResult {
  listeners: Listener[];
  source: SourceName;
  /** Wall time of the whole scan, attribution included. */
  durationMs: number;
  /**
   * The part of durationMs spent finding owners of sockets not seen before: paid per new
   * listener, not per scan, so the watcher's interval policy leaves it out.
   */
  attributionMs: number;
  /** Sockets an earlier scan returned without an owner that this one returns with theirs. */
  attributed: number[];
  /** Sockets returned without an owner because their search goes on (see `yieldTo`). */
  ownersPending: number;
}

export interface ScanCallOptions {
  /**
   * When this settles before the owner search ends, scan() returns at once and the search
   * goes on: its sockets come back without an owner until a later scan, once
   * ownersPending() has settled, returns them with theirs (listed in `attributed`). One
   * search goes on at a time; while it does, scans wait for their own searches.
   */
  yieldTo?: Promise<unknown>;
}

export class Scanner {
  readonly source: Source;
  /** Sources passed in by the caller stay the caller's to close. */
  private readonly ownsSource: boolean;
  private readonly netnsPid: number | undefined;
  private readonly withOwners: boolean;
  /** Read once: a process (ours, or the target) does not change namespace under us. */
  private readonly netns: string | null;
  private readonly searches: OwnerSearches;
  /** close() was called and no scan since: what goes on in the background must not reopen the source. */
  private closed = false;
  private readonly select: ((socket: SocketFields) => boolean) | null;
  /** What is known of each live inode (its owner: UNKNOWN_OWNER until found), stamped with the last scan that saw it. */
  private readonly sockets = new Map<number, Known>();
  /** Scans so far: the stamp of the current one. */
  private passes = 0;
  /** Rows → sorted listeners; a socket that stays is the same object scan after scan. */
  private readonly stable = new StableListeners();
  /**
   * The last scan: the source's array, what `track` made of it, and the listeners built. A
   * source that hands back the same array (nothing changed) costs no tracking and no building.
   */
  private last: { raws: readonly RawSocket[]; rows: readonly RawSocket[]; unknown: number[]; listeners: Listener[] } | null = null;

  constructor(options: ScanOptions = {}) {
    this.searches = new OwnerSearches(newOwnerSearch(), (holders) => {
      for (const [inode, ownership] of ownershipsOf(holders)) {
        const known = this.sockets.get(inode);
        if (known !== undefined) known.ownership = ownership;
      }
      // A search that went on may have recorded a miss for a socket a scan saw close meanwhile.
      this.searches.owners.forget((inode) => this.sockets.has(inode));
    });
    const { netnsPid } = options;
    if (netnsPid !== undefined && !processExists(netnsPid)) {
      throw new PortwatchError('ENOPROCESS', `no process with pid ${netnsPid}`);
    }
    this.netnsPid = netnsPid;
    this.netns = netnsOf(netnsPid);
    this.withOwners = options.owners ?? true;
    if (options.select !== undefined && typeof options.select !== 'function') {
      throw new PortwatchError('EUSAGE', `select must be a function of a socket, got ${typeof options.select}`);
    }
    this.select = options.select ?? null;
    this.ownsSource = typeof options.source !== 'object';
    this.source = typeof options.source === 'object' ? options.source : selectSource(options.source, netnsPid);
  }

  /** `likelyOwners`: pids (or thread ids) a kernel event named; their fds are read before any walk. */
  async scan(likelyOwners: readonly number[] = [], options: ScanCallOptions = {}): Promise<ScanResult> {
    const started = process.hrtime.bigint();
    const startedMs = performance.now();
    this.closed = false;
    const target = this.netnsPid === undefined ? {} : { netnsPid: this.netnsPid };
    // A kept netlink socket would go on reading a dead process's namespace: check first.
    if (this.netnsPid !== undefined && !processExists(this.netnsPid)) {
      throw new PortwatchError('ENOPROCESS', `process ${this.netnsPid} has exited; its network namespace is no longer watched`);
    }
    const raws = await this.source.scan(target);
    const netns = this.netns;
    const ownership = (inode: number): Ownership => this.sockets.get(inode)?.ownership ?? UNKNOWN_OWNER;
    const last = this.last;
    const same = last !== null && last.raws === raws;
    let tracked: { rows: readonly RawSocket[]; unknown: number[] };
    if (same) {
      tracked = { rows: last.rows, unknown: last.unknown.filter((inode) => ownership(inode) === UNKNOWN_OWNER) };
    } else {
      this.passes = (this.passes + 1) >>> 0; // stamps what this scan saw (see attribute)
      tracked = this.track(raws, netns, this.passes);
    }
    const { rows, unknown } = tracked;
    const attributionStarted = process.hrtime.bigint();
    if (this.withOwners && unknown.length > 0) await this.attribute(unknown, likelyOwners, target, options.yieldTo);
    const attributionMs = Number(process.hrtime.bigint() - attributionStarted) / 1e6;
    const found = unknown.some((inode) => ownership(inode) !== UNKNOWN_OWNER);
    // Returned before without an owner, now with one: a search that went on has ended, or a retry found it.
    const attributed = last === null ? [] : last.unknown.filter((inode) => ownership(inode) !== UNKNOWN_OWNER && this.sockets.has(inode));
    const listeners =
      same && !found && attributed.length === 0
        ? last.listeners
        : this.stable.from(
            rows,
            netns,
            (inode) => ownership(inode).process,
            (inode) => ownership(inode).holders,
          );
    this.last = { raws, rows, unknown: unknown.filter((inode) => ownership(inode) === UNKNOWN_OWNER), listeners };
    const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
    const ownersPending = this.searches.pendingAmong(unknown);
    this.searches.scanEnded(startedMs);
    return { listeners: listeners.slice(), source: this.source.name, durationMs, attributionMs, attributed, ownersPending };
  }

  /** Settles when the owner search a scan stopped waiting for has ended; null when none goes on. */
  ownersPending(): Promise<void> | null {
    return this.searches.pending();
  }

  /**
   * Compiles the owner search off the clock (owners/warm-up.ts): the watcher calls it once,
   * idle after its first scan. False when there is nothing to warm (no owners wanted) or it
   * could not run.
   */
  warmUp(): Promise<boolean> {
    return this.withOwners ? warmUpOwnerSearch() : Promise.resolve(false);
  }

  /**
   * Milliseconds until a scan would look again for an owner no walk could find (0: at the
   * next scan), or null when there is none. Such a socket is looked for again with back-off
   * (1 s doubling to 60 s; socket-owners.ts, which forgets it once it is found or gone):
   * scanning sooner finds nothing more.
   */
  ownerRetryInMs(now = Date.now()): number | null {
    const at = this.searches.owners.nextRetryAt();
    return at === null ? null : Math.max(0, at - now);
  }

  /** How many times this scanner has walked /proc/<pid>/fd to find owners. */
  get walks(): number {
    return this.searches.owners.stats.walks;
  }

  /** Releases what a source this scanner created keeps open between scans (a sock_diag socket is reopened if it scans again). */
  close(): void {
    this.closed = true;
    this.searches.release();
    if (this.ownsSource) this.source.close?.();
  }

  /**
   * Stamps what this scan saw, forgets what is gone, asks `select` about new sockets, and
   * says which rows to keep and which inodes have no owner yet. A quiet scan (no socket new,
   * none gone) costs one map lookup per socket: each entry is stamped with the scan that saw
   * it, so what is gone is known without building a set of the live ones.
   */
  private track(raws: readonly RawSocket[], netns: string | null, pass: number): { rows: readonly RawSocket[]; unknown: number[] } {
    const unknown: number[] = [];
    let seen = 0;
    let refused = false;
    for (const raw of raws) {
      if (raw.inode === 0) {
        // No identity to remember a decision by (kernel sockets): asked every scan.
        refused ||= this.select !== null && !this.select(socketFields(raw, netns));
        continue;
      }
      let known = this.sockets.get(raw.inode);
      if (known === undefined) {
        known = { ownership: UNKNOWN_OWNER, pass: 0, selected: this.select === null || this.select(socketFields(raw, netns)) };
        this.sockets.set(raw.inode, known);
      }
      if (known.pass !== pass) {
        known.pass = pass;
        seen++;
      }
      if (!known.selected) refused = true;
      else if (known.ownership === UNKNOWN_OWNER) unknown.push(raw.inode);
    }
    if (seen < this.sockets.size) {
      // Some sockets are gone: forget them, here and in the owner walk's memory.
      this.sockets.forEach((known, inode) => known.pass !== pass && this.sockets.delete(inode));
      this.searches.owners.forget((inode) => this.sockets.has(inode));
    }
    if (!refused) return { rows: raws, unknown };
    const select = this.select as (socket: SocketFields) => boolean;
    const rows = raws.filter((raw) =>
      raw.inode === 0 ? select(socketFields(raw, netns)) : this.sockets.get(raw.inode)?.selected === true,
    );
    return { rows, unknown };
  }

  /** Finds the holders of `unknown` inodes and names an owner for each it can, in place (owner-searches.ts: up to `yieldTo`). */
  private attribute(unknown: number[], likelyOwners: readonly number[], target: ScanTarget, yieldTo?: Promise<unknown>): Promise<void> {
    // Before a walk over every process: which of them did not close since the table was read.
    const stillListening = async (inodes: readonly number[]): Promise<Set<number>> => {
      let now: Set<number>;
      if (this.closed) return new Set(inodes); // a search that went on after close(): do not reopen the source
      try {
        now = new Set((await this.source.scan(target)).map((raw) => raw.inode));
      } catch {
        return new Set(inodes); // cannot tell: look for all of them
      }
      return new Set(inodes.filter((inode) => now.has(inode)));
    };
    const isListener = (inode: number): boolean => this.sockets.has(inode);
    return this.searches.search(unknown, { likely: likelyOwners, isListener, stillListening }, yieldTo);
  }
}

/** One look at the listening sockets. */
export async function scan(options: ScanOptions = {}): Promise<ScanResult> {
  const scanner = new Scanner(options);
  try {
    return await scanner.scan();
  } finally {
    scanner.close();
  }
}
