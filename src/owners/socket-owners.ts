/**
 * Socket inode → the processes holding it, by reading /proc/<pid>/fd. Reading fd tables is
 * the expensive part of attribution (one readlink per fd, 2–15 µs each), so it is lazy:
 * - it runs only for inodes the caller does not know an owner for (new listeners);
 * - the processes a kernel event named are read first: a new socket of an old process
 *   costs that process's table, not a walk; and a process read before is read changed fds
 *   first (fd-tables.ts), so under churn a new listener costs a few readlinks; that look is
 *   bounded (~1,000 readlinks' worth, a listing priced by its size), so a recent owner with
 *   thousands of fds is left to the walk, which reaches a new process's listener at once;
 * - otherwise one walk over every process, newest pid first (a port that just opened most
 *   likely belongs to a process that just started), stopping as soon as every wanted inode
 *   is found;
 * - an inode a whole walk could not find (another user's process without privileges, a
 *   process in another pid namespace) costs that one walk in the resolver's life: later it
 *   is looked for only among processes no walk has read yet, with back-off (1 s doubling
 *   to 60 s). On a host with 100k fds and one such socket, a full walk every back-off step
 *   would cost more than everything else portwatch does.
 * The rest of a holder's family (pre-forked servers) is found by holders.ts. Memory follows
 * the live listeners: nothing is kept about the sockets a walk passes on its way. Walks over
 * every process run in the native addon when it is built (native-walk.ts: threads, off the
 * Node thread, same answer); the rest, a few processes each, stay here.
 */
import { readdirSync } from 'node:fs';
import { FdReader, type Hit } from './fd-reader.js';
import { FdTables } from './fd-tables.js';
import { familyHolders, ProcFamily } from './holders.js';
import { nativeWalk, walkAllNative, type NativeWalk } from './native-walk.js';
import { readBoundedText } from './read-bounded.js';

interface Miss {
  retryAt: number;
  delayMs: number;
}

const RETRY_FIRST_MS = 1_000;
const RETRY_MAX_MS = 60_000;
/**
 * Readlinks a look at recent owners may spend on the Node thread (~5–15 µs each): about what
 * the native walk needs to reach a new process. Past it, the walk looks.
 */
const RECENT_LOOK_READLINKS = 1_000;

export interface SocketOwnersStats {
  /** Walks over every process (each stops early once all it wants is found). */
  walks: number;
  /** Looks, for sockets no walk found, at processes no walk had read. */
  newProcessLooks: number;
  /** Looks at the processes a kernel event named, before any walk. */
  likelyLooks: number;
  /** Looks at what changed in the processes that owned listeners lately, before any walk. */
  recentLooks: number;
  readlinks: number;
}

export interface ResolveOptions {
  /** Processes (or threads) a kernel event named: the task that called listen() or bind(). */
  likely?: readonly number[];
  /** Whether an inode is a listening socket now: orders the reads of processes read before. */
  isListener?: (inode: number) => boolean;
  /**
   * Which of these inodes are still listening (a fresh read of the socket table). Asked
   * before a walk over every process: under churn a socket often closes between the table
   * read and the owner search, and a whole walk (up to seconds on a busy host) to learn that
   * it is gone would stall every scan after it. Without it, every inode is walked for.
   */
  stillListening?: (inodes: readonly number[]) => Promise<ReadonlySet<number>>;
}

/** Where a walk reads, and what it does with what it finds. */
interface WalkPlan {
  pids: readonly number[];
  /** Mark the processes read as looked at (walks over every process do). */
  markLooked: boolean;
  /** Remember these processes' tables (kernel events named them). */
  track: boolean;
  /** Read only the fds that changed since the last read (recent owners, before a whole walk). */
  changedOnly?: boolean;
  /** Readlinks the whole plan may spend; unbounded when absent. */
  budget?: { left: number };
}

export class SocketOwners {
  private readonly misses = new Map<number, Miss>();
  /** Pids whose fd table a walk has read (or was refused): the rest are "new" to us. */
  private readonly looked = new Set<number>();
  private readonly tables = new FdTables();
  private readonly reader: FdReader;
  readonly stats: SocketOwnersStats = { walks: 0, newProcessLooks: 0, likelyLooks: 0, recentLooks: 0, readlinks: 0 };

  /**
   * walker: the native walk over every process; undefined looks it up at each walk (the
   * addon, unless PORTWATCH_WALK=js or PORTWATCH_NO_NATIVE=1), null always walks in JS.
   */
  constructor(
    private readonly procRoot = '/proc',
    private readonly now: () => number = Date.now,
    private readonly walker?: NativeWalk | null,
  ) {
    this.reader = new FdReader(procRoot, this.tables);
  }

  /**
   * The processes holding each inode it can find (pids ascending, never empty); inodes no
   * process could be found for are absent from the result.
   */
  async resolve(inodes: Iterable<number>, options: ResolveOptions = {}): Promise<Map<number, number[]>> {
    const hits = new Map<number, Hit>();
    const asked = new Set<number>();
    const wanted = new Set<number>();
    const retry = new Set<number>();
    const now = this.now();
    for (const inode of inodes) {
      asked.add(inode);
      const miss = this.misses.get(inode);
      if (miss === undefined) wanted.add(inode);
      else if (miss.retryAt <= now) retry.add(inode);
    }
    const known = options.isListener ?? (() => false);
    const isListener = (inode: number): boolean => asked.has(inode) || known(inode);
    const likely = wanted.size > 0 ? this.processesOf(options.likely ?? []) : [];
    if (likely.length > 0) {
      this.stats.likelyLooks++;
      await this.walk(wanted, hits, { pids: likely, markLooked: false, track: true }, isListener);
    }
    if (wanted.size > 0 && this.tables.size > 0) {
      // Without a kernel event (polling), or one that named another task: the processes that
      // opened listeners lately most likely opened this one too, at an fd that changed.
      const named = new Set(likely);
      const pids = this.tables.recent().filter((pid) => !named.has(pid));
      if (pids.length > 0) {
        this.stats.recentLooks++;
        const budget = { left: RECENT_LOOK_READLINKS };
        await this.walk(wanted, hits, { pids, markLooked: false, track: false, changedOnly: true, budget }, isListener);
      }
    }
    if (wanted.size > 0 && options.stillListening !== undefined) {
      const live = await options.stillListening([...wanted]);
      // Gone already: nothing to find, and no miss to remember (the caller forgets it).
      for (const inode of wanted) if (!live.has(inode)) wanted.delete(inode);
    }
    if (wanted.size > 0) {
      const named = new Set(likely);
      const pids = this.allPids().filter((pid) => !named.has(pid));
      await this.walk(wanted, hits, { pids, markLooked: true, track: false }, isListener);
      this.stats.walks++;
      // Seen by a whole walk and not found: from now on only new processes are looked at.
      for (const inode of wanted) this.recordMiss(inode, now);
    }
    if (retry.size > 0) {
      this.stats.newProcessLooks++;
      const pids = this.allPids().filter((pid) => !this.looked.has(pid));
      await this.walk(retry, hits, { pids, markLooked: true, track: false }, isListener);
      for (const inode of retry) this.recordMiss(inode, now);
    }
    return this.holdersOf(hits);
  }

  /** Whether a search for `inode` now would skip it: no walk could find it and its next look is not due. */
  deferred(inode: number, now = this.now()): boolean {
    const miss = this.misses.get(inode);
    return miss !== undefined && miss.retryAt > now;
  }

  /** When the earliest inode no walk could find is due to be looked for again (the clock's ms), or null when none is. */
  nextRetryAt(): number | null {
    let at: number | null = null;
    for (const miss of this.misses.values()) if (at === null || miss.retryAt < at) at = miss.retryAt;
    return at;
  }

  /** Forgets everything about inodes that are gone, so memory follows the live sockets. */
  forget(isLive: (inode: number) => boolean): void {
    for (const inode of this.misses.keys()) if (!isLive(inode)) this.misses.delete(inode);
  }

  /** Each hit's holders: the family of the process found (fork() copies fds), and any other the walk saw. */
  private holdersOf(hits: ReadonlyMap<number, Hit>): Map<number, number[]> {
    const result = new Map<number, number[]>();
    if (hits.size === 0) return result;
    const family = new ProcFamily(this.procRoot);
    for (const [inode, hit] of hits) {
      const holders = familyHolders(family, hit.pid, hit.fd, inode);
      for (const pid of hit.also) if (!holders.includes(pid)) holders.push(pid);
      result.set(
        inode,
        holders.sort((a, b) => a - b),
      );
    }
    this.stats.readlinks += family.readlinks;
    return result;
  }

  private recordMiss(inode: number, now: number): void {
    const prev = this.misses.get(inode);
    const delayMs = prev ? Math.min(prev.delayMs * 2, RETRY_MAX_MS) : RETRY_FIRST_MS;
    this.misses.set(inode, { retryAt: now + delayMs, delayMs });
  }

  /** Every process, newest first (as pids are given out, wrap included); prunes `looked` of the ones gone. */
  private allPids(): number[] {
    let pids: number[];
    try {
      pids = readdirSync(this.procRoot)
        .filter((n) => n.charCodeAt(0) >= 48 && n.charCodeAt(0) <= 57)
        .map(Number)
        .sort((a, b) => b - a);
    } catch {
      return [];
    }
    const alive = new Set(pids);
    for (const pid of this.looked) if (!alive.has(pid)) this.looked.delete(pid);
    // Pids wrap at pid_max: the newest are the last one given out and below, then the ones above it.
    const last = Number(readBoundedText(`${this.procRoot}/sys/kernel/ns_last_pid`, 32) ?? NaN);
    const from = Number.isInteger(last) ? pids.findIndex((pid) => pid <= last) : -1;
    return from > 0 ? [...pids.slice(from), ...pids.slice(0, from)] : pids;
  }

  /** Thread ids → their processes (a kernel event names the thread), each once. */
  private processesOf(ids: readonly number[]): number[] {
    const pids = new Set<number>();
    for (const id of new Set(ids)) {
      const status = readBoundedText(`${this.procRoot}/${id}/status`, 512);
      const tgid = status === null ? null : /^Tgid:\s+(\d+)$/m.exec(status)?.[1];
      pids.add(tgid === null || tgid === undefined ? id : Number(tgid));
    }
    return [...pids];
  }

  /** Reads the fd tables of `plan.pids` in order, moving what it finds from `wanted` to `hits`. */
  private async walk(wanted: Set<number>, hits: Map<number, Hit>, plan: WalkPlan, isListener: (inode: number) => boolean): Promise<void> {
    // A walk over every process goes native when it can; when that fails (procRoot unreadable, no memory), it walks here.
    const walker = plan.markLooked && !plan.track && wanted.size > 0 ? (this.walker === undefined ? nativeWalk() : this.walker) : null;
    const walked =
      walker === null ? null : await walkAllNative(walker, this.procRoot, plan.pids, wanted, hits, this.tables).catch(() => null);
    if (walked !== null) {
      for (let i = 0; i < walked.claimed; i++) this.looked.add(plan.pids[i] as number);
      this.stats.readlinks += walked.readlinks;
      for (const inode of hits.keys()) this.misses.delete(inode);
      return;
    }
    const readsBefore = this.reader.readlinks;
    for (const pid of plan.pids) {
      if (wanted.size === 0) break;
      if (plan.budget !== undefined && plan.budget.left <= 0) break;
      if (plan.markLooked) this.looked.add(pid);
      await this.reader.read(
        pid,
        wanted,
        hits,
        { track: plan.track, changedOnly: plan.changedOnly === true, budget: plan.budget },
        isListener,
      );
    }
    this.stats.readlinks += this.reader.readlinks - readsBefore;
    for (const inode of hits.keys()) this.misses.delete(inode);
  }
}
