/**
 * Socket inode → pid, by walking /proc/<pid>/fd. The walk is the expensive part of
 * attribution (~5 µs per fd), so it is lazy:
 * - it runs only when a scan shows inodes whose owner is not known yet;
 * - it stops as soon as every wanted inode is found;
 * - every socket it passes on the way is remembered (inode → pid and fd), and a
 *   remembered owner is re-checked with one readlink before it is trusted;
 * - an inode a whole walk could not find (another user's process without privileges, a
 *   process in another pid namespace) costs that one walk in the resolver's life: later it
 *   is looked for only among processes no walk has read yet, with back-off (1 s doubling
 *   to 60 s). On a host with 100k fds and one such socket, a full walk every back-off step
 *   would cost more than everything else portwatch does.
 * Newest pids are walked first: a port that just opened most likely belongs to a process
 * that just started.
 */
import { readdirSync, readlinkSync } from 'node:fs';

interface Holder {
  pid: number;
  fd: string;
}

interface Miss {
  retryAt: number;
  delayMs: number;
}

const MAX_REMEMBERED = 65_536;
const RETRY_FIRST_MS = 1_000;
const RETRY_MAX_MS = 60_000;
const YIELD_EVERY = 2_000;

const SOCKET_PREFIX = 'socket:[';

function socketInode(link: string): number | null {
  if (!link.startsWith(SOCKET_PREFIX) || !link.endsWith(']')) return null;
  const n = Number(link.slice(SOCKET_PREFIX.length, -1));
  return Number.isSafeInteger(n) ? n : null;
}

export interface SocketOwnersStats {
  /** Walks over every process (each stops early once all it wants is found). */
  walks: number;
  /** Looks, for sockets no walk found, at processes no walk had read. */
  newProcessLooks: number;
  /** Looks at the processes a kernel event named, before any walk. */
  likelyLooks: number;
  readlinks: number;
}

export class SocketOwners {
  private readonly remembered = new Map<number, Holder>();
  private readonly misses = new Map<number, Miss>();
  /** Pids whose fd table a walk has read (or was refused): the rest are "new" to us. */
  private readonly looked = new Set<number>();
  readonly stats: SocketOwnersStats = { walks: 0, newProcessLooks: 0, likelyLooks: 0, readlinks: 0 };

  constructor(
    private readonly procRoot = '/proc',
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Finds the owning pid of each inode it can; unknown inodes are absent from the result.
   * `likely`: processes a kernel event named (the task that called listen() or bind()),
   * read first, so that a new socket of an old process costs its fd table, not a walk.
   */
  async resolve(inodes: Iterable<number>, likely: readonly number[] = []): Promise<Map<number, number>> {
    const found = new Map<number, number>();
    const wanted = new Set<number>();
    const retry = new Set<number>();
    const now = this.now();
    for (const inode of inodes) {
      const held = this.remembered.get(inode);
      if (held && this.stillHolds(held, inode)) {
        found.set(inode, held.pid);
        continue;
      }
      this.remembered.delete(inode);
      const miss = this.misses.get(inode);
      if (miss === undefined) wanted.add(inode);
      else if (miss.retryAt <= now) retry.add(inode);
    }
    if (wanted.size > 0 && likely.length > 0) {
      this.stats.likelyLooks++;
      const named = new Set(likely);
      await this.walk(wanted, found, (pid) => named.has(pid), likely);
    }
    if (wanted.size > 0) {
      await this.walk(wanted, found, () => true);
      this.stats.walks++;
      // Seen by a whole walk and not found: from now on only new processes are looked at.
      for (const inode of wanted) this.recordMiss(inode, now);
    }
    if (retry.size > 0) {
      this.stats.newProcessLooks++;
      await this.walk(retry, found, (pid) => !this.looked.has(pid));
      for (const inode of retry) this.recordMiss(inode, now);
    }
    return found;
  }

  /** Forgets everything about inodes that are gone, so memory follows the live sockets. */
  forget(liveInodes: ReadonlySet<number>): void {
    for (const inode of this.misses.keys()) if (!liveInodes.has(inode)) this.misses.delete(inode);
  }

  private recordMiss(inode: number, now: number): void {
    const prev = this.misses.get(inode);
    const delayMs = prev ? Math.min(prev.delayMs * 2, RETRY_MAX_MS) : RETRY_FIRST_MS;
    this.misses.set(inode, { retryAt: now + delayMs, delayMs });
  }

  private stillHolds(h: Holder, inode: number): boolean {
    try {
      this.stats.readlinks++;
      return socketInode(readlinkSync(`${this.procRoot}/${h.pid}/fd/${h.fd}`)) === inode;
    } catch {
      return false;
    }
  }

  private remember(inode: number, holder: Holder): void {
    if (this.remembered.size >= MAX_REMEMBERED) this.remembered.clear();
    this.remembered.set(inode, holder);
  }

  /** Walks /proc/<pid>/fd of the pids `include` takes, newest first, deleting found inodes from `wanted`. */
  private async walk(
    wanted: Set<number>,
    found: Map<number, number>,
    include: (pid: number) => boolean,
    only?: readonly number[],
  ): Promise<void> {
    let pids: number[];
    if (only !== undefined) {
      pids = [...only]; // thread ids work too: /proc/<tid>/fd is the process's table
    } else {
      try {
        pids = readdirSync(this.procRoot)
          .filter((n) => n.charCodeAt(0) >= 48 && n.charCodeAt(0) <= 57)
          .map(Number)
          .sort((a, b) => b - a);
      } catch {
        return;
      }
      const alive = new Set(pids);
      for (const pid of this.looked) if (!alive.has(pid)) this.looked.delete(pid);
    }
    let sinceYield = 0;
    for (const pid of pids) {
      if (!include(pid)) continue;
      if (only === undefined) this.looked.add(pid);
      let fds: string[];
      try {
        fds = readdirSync(`${this.procRoot}/${pid}/fd`);
      } catch {
        continue; // gone, or not ours to look at (EACCES): attribution stays unknown
      }
      for (const fd of fds) {
        // Yield inside a process too: one server may hold tens of thousands of fds.
        if (++sinceYield >= YIELD_EVERY) {
          sinceYield = 0;
          await new Promise<void>((r) => setImmediate(r)); // keep the event loop responsive on big hosts
        }
        let link: string;
        try {
          this.stats.readlinks++;
          link = readlinkSync(`${this.procRoot}/${pid}/fd/${fd}`);
        } catch {
          continue;
        }
        const inode = socketInode(link);
        if (inode === null) continue;
        this.remember(inode, { pid, fd });
        if (wanted.delete(inode)) {
          found.set(inode, pid);
          this.misses.delete(inode);
          if (wanted.size === 0) return;
        }
      }
    }
  }
}
