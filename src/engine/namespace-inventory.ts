/**
 * Which network namespaces exist on the host, kept up to date cheaply: the unique
 * /proc/<pid>/ns/net of every process, and every namespace bind-mounted somewhere
 * (/proc/self/mountinfo: `ip netns add`, Docker, CNI).
 *
 * Incremental: a refresh lists /proc (one readdir) and reads the namespace link of pids not
 * seen before only. Two kinds of known pids are read again, because a process can change
 * namespace without changing pid (`unshare --net CMD` calls unshare() and then execs;
 * `ip netns exec` and `nsenter` call setns()): pids first seen less than YOUNG_MS ago, and at
 * least once after the look that found them however late the next look comes (a namespace is
 * almost always entered right after a process starts), and a slice of all the
 * others each refresh, round-robin, so every pid is re-read every few seconds at most.
 *
 * When /proc/loadavg says no task was created or ended since the last refresh (its thread
 * count and last pid are unchanged), /proc is not even listed: an idle host costs one small
 * read per refresh. A full look still happens every FULL_EVERY_MS (mounts change without a
 * new process when a running daemon mounts a namespace; exits elsewhere can balance
 * creations in the thread count).
 *
 * Namespaces of processes we may not read (another user's, without root) are counted, not
 * guessed.
 */
import { readdirSync, readlinkSync } from 'node:fs';
import { readBounded } from '../owners/read-bounded.js';
import { loadavgStamp, netnsOfLink, nsfsNetMounts } from './netns-text.js';

/** A process is re-read on every refresh during its first seconds. */
const YOUNG_MS = 3_000;
/** Known pids re-read per full refresh, round-robin (1,000 processes: each every ~60 refreshes). */
const VERIFY_PER_REFRESH = 16;
/** Even when /proc/loadavg says nothing changed, look fully this often. */
const FULL_EVERY_MS = 10_000;
const MAX_MOUNTINFO = 8 * 1024 * 1024;

interface PidEntry {
  /** The namespace inode, or null when the link could not be read. */
  netns: string | null;
  /** The read was refused (another user's process without privileges), not raced by an exit. */
  denied: boolean;
  firstSeenMs: number;
}

export interface InventoryOptions {
  procRoot?: string;
  now?: () => number;
}

export class NamespaceInventory {
  private readonly pids = new Map<number, PidEntry>();
  private readonly members = new Map<string, Set<number>>();
  private mounts = new Map<string, string[]>();
  private verifyCursor: number[] = [];
  /** Pids first seen less than YOUNG_MS ago (re-read on every refresh). */
  private young: number[] = [];
  private stamp: string | null = null;
  private fullAtMs = Number.NEGATIVE_INFINITY;
  private liveCache: Set<string> | null = null;
  /** Full refreshes (a listing of /proc) so far, for tests and the bench. */
  fullRefreshes = 0;
  /** Namespaces that gained a process in the last refresh (a process that just started may soon listen). */
  touched = new Set<string>();
  private readonly procRoot: string;
  private readonly now: () => number;
  /** Link reads so far (for tests and the bench). */
  readlinks = 0;

  constructor(options: InventoryOptions = {}) {
    this.procRoot = options.procRoot ?? '/proc';
    this.now = options.now ?? Date.now;
  }

  /** Looks again; returns the namespaces that exist now (linked by a process or a mount). */
  refresh(): Set<string> {
    const now = this.now();
    this.touched = new Set();
    // Re-read before they age out: looks can be further apart than YOUNG_MS (a busy host paces
    // them by their cost), and a process that entered a namespace after the look that found it
    // (`unshare --net CMD` just started) would otherwise be left where it was first seen.
    for (const pid of this.young) {
      const entry = this.pids.get(pid);
      if (entry !== undefined) this.reread(pid, entry);
    }
    this.young = this.young.filter((pid) => (this.pids.get(pid)?.firstSeenMs ?? -Infinity) > now - YOUNG_MS);
    const text = readBounded(`${this.procRoot}/loadavg`, 256);
    const stamp = text === null ? null : loadavgStamp(text.toString('latin1'));
    if (stamp !== null && stamp === this.stamp && now - this.fullAtMs < FULL_EVERY_MS) return this.live();
    this.stamp = stamp;
    this.fullAtMs = now;
    this.fullRefreshes++;
    const listed = this.listPids();
    if (listed !== null) {
      for (const pid of this.pids.keys()) if (!listed.has(pid)) this.drop(pid);
      for (const pid of listed) if (!this.pids.has(pid)) this.record(pid, now);
      this.verifySome(now);
    }
    this.readMounts();
    return this.live();
  }

  /** Namespaces linked by a process or a mount, as of the last refresh (do not modify). */
  live(): Set<string> {
    if (this.liveCache !== null) return this.liveCache;
    const live = new Set<string>(this.mounts.keys());
    for (const [netns, pids] of this.members) if (pids.size > 0) live.add(netns);
    this.liveCache = live;
    return live;
  }

  /**
   * The namespace of a task a kernel event named (a thread id works: /proc/<tid> exists for
   * threads), read now; the task is remembered as a member. Null when it is gone or unreadable.
   */
  taskNetns(tid: number): string | null {
    const { netns } = this.readLink(tid);
    if (netns === null) return null;
    const entry = this.pids.get(tid);
    if (entry === undefined) this.add(tid, { netns, denied: false, firstSeenMs: this.now() });
    else if (entry.netns !== netns) this.move(tid, entry, netns);
    return netns;
  }

  /** Processes last seen in `netns`, ascending. */
  membersOf(netns: string): number[] {
    return [...(this.members.get(netns) ?? [])].sort((a, b) => a - b);
  }

  /** Where `netns` is mounted (empty when only processes hold it). */
  mountsOf(netns: string): string[] {
    return this.mounts.get(netns) ?? [];
  }

  /** Paths that open `netns` now: a member's /proc/<pid>/ns/net, then its mounts. */
  pathsOf(netns: string): string[] {
    return [...this.membersOf(netns).map((pid) => `${this.procRoot}/${pid}/ns/net`), ...this.mountsOf(netns)];
  }

  /** Is `pid` a process the last refresh saw? */
  has(pid: number): boolean {
    return this.pids.has(pid);
  }

  /** Processes whose namespace could not be read (another user's, without root). */
  unreadable(): number {
    let n = 0;
    for (const entry of this.pids.values()) if (entry.denied) n++;
    return n;
  }

  get processes(): number {
    return this.pids.size;
  }

  private listPids(): Set<number> | null {
    let names: string[];
    try {
      names = readdirSync(this.procRoot);
    } catch {
      return null;
    }
    const pids = new Set<number>();
    for (const name of names) {
      const c = name.charCodeAt(0);
      if (c >= 48 && c <= 57) pids.add(Number(name));
    }
    return pids;
  }

  /** The namespace of `pid`; null when the link cannot be read (`denied`: refused, not gone or a zombie). */
  private readLink(pid: number): { netns: string | null; denied: boolean } {
    this.readlinks++;
    try {
      return { netns: netnsOfLink(readlinkSync(`${this.procRoot}/${pid}/ns/net`)), denied: false };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      return { netns: null, denied: code === 'EACCES' || code === 'EPERM' };
    }
  }

  private record(pid: number, now: number): void {
    this.add(pid, { ...this.readLink(pid), firstSeenMs: now });
    this.young.push(pid);
  }

  private reread(pid: number, entry: PidEntry): void {
    const { netns } = this.readLink(pid);
    // A failed read of a known pid: it is exiting, or was never readable; keep what we know.
    if (netns !== null && netns !== entry.netns) this.move(pid, entry, netns);
  }

  private verifySome(now: number): void {
    // Young pids are re-read anyway; the others in turn.
    if (this.verifyCursor.length === 0)
      this.verifyCursor = [...this.pids].filter(([, e]) => now - e.firstSeenMs >= YOUNG_MS).map(([pid]) => pid);
    for (let i = 0; i < VERIFY_PER_REFRESH && this.verifyCursor.length > 0; i++) {
      const pid = this.verifyCursor.pop() as number;
      const entry = this.pids.get(pid);
      if (entry !== undefined) this.reread(pid, entry);
    }
  }

  private add(pid: number, entry: PidEntry): void {
    this.pids.set(pid, entry);
    this.liveCache = null;
    if (entry.netns === null) return;
    this.touched.add(entry.netns);
    let set = this.members.get(entry.netns);
    if (set === undefined) this.members.set(entry.netns, (set = new Set()));
    set.add(pid);
  }

  private move(pid: number, entry: PidEntry, netns: string): void {
    this.drop(pid);
    this.add(pid, { netns, denied: false, firstSeenMs: entry.firstSeenMs });
  }

  private drop(pid: number): void {
    const entry = this.pids.get(pid);
    if (entry === undefined) return;
    this.pids.delete(pid);
    this.liveCache = null;
    if (entry.netns === null) return;
    const set = this.members.get(entry.netns);
    set?.delete(pid);
    if (set !== undefined && set.size === 0) this.members.delete(entry.netns);
  }

  private readMounts(): void {
    const text = readBounded(`${this.procRoot}/self/mountinfo`, MAX_MOUNTINFO);
    if (text === null) return;
    const mounts = new Map<string, string[]>();
    for (const m of nsfsNetMounts(text.toString('utf8'))) {
      const paths = mounts.get(m.netns);
      if (paths === undefined) mounts.set(m.netns, [m.path]);
      else paths.push(m.path);
    }
    if (!sameMounts(this.mounts, mounts)) this.liveCache = null;
    this.mounts = mounts;
  }
}

function sameMounts(a: ReadonlyMap<string, string[]>, b: ReadonlyMap<string, string[]>): boolean {
  if (a.size !== b.size) return false;
  for (const [netns, paths] of a) if (b.get(netns)?.join('\0') !== paths.join('\0')) return false;
  return true;
}
