/**
 * Socket inode → pid, by walking /proc/<pid>/fd. The walk is the expensive part of
 * attribution (~5 µs per fd), so it is lazy:
 * - it runs only when a scan shows inodes whose owner is not known yet;
 * - it stops as soon as every wanted inode is found;
 * - every socket it passes on the way is remembered (inode → pid and fd), and a
 *   remembered owner is re-checked with one readlink before it is trusted;
 * - inodes no walk could find (another user's process without privileges, a process in
 *   another pid namespace) are looked for again only with back-off (1 s doubling to 60 s),
 *   never on every scan.
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
  walks: number;
  readlinks: number;
}

export class SocketOwners {
  private readonly remembered = new Map<number, Holder>();
  private readonly misses = new Map<number, Miss>();
  readonly stats: SocketOwnersStats = { walks: 0, readlinks: 0 };

  constructor(
    private readonly procRoot = '/proc',
    private readonly now: () => number = Date.now,
  ) {}

  /** Finds the owning pid of each inode it can; unknown inodes are absent from the result. */
  async resolve(inodes: Iterable<number>): Promise<Map<number, number>> {
    const found = new Map<number, number>();
    const wanted = new Set<number>();
    const now = this.now();
    for (const inode of inodes) {
      const held = this.remembered.get(inode);
      if (held && this.stillHolds(held, inode)) {
        found.set(inode, held.pid);
        continue;
      }
      this.remembered.delete(inode);
      const miss = this.misses.get(inode);
      if (miss && miss.retryAt > now) continue;
      wanted.add(inode);
    }
    if (wanted.size > 0) {
      // Only inodes due for a look go on the walk: one unfindable socket must not turn
      // every later walk into a full one.
      await this.walk(wanted, found);
      for (const inode of wanted) this.recordMiss(inode, now);
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

  /** Walks /proc/<pid>/fd, newest pid first, deleting found inodes from `wanted`. */
  private async walk(wanted: Set<number>, found: Map<number, number>): Promise<void> {
    this.stats.walks++;
    let pids: number[];
    try {
      pids = readdirSync(this.procRoot)
        .filter((n) => n.charCodeAt(0) >= 48 && n.charCodeAt(0) <= 57)
        .map(Number)
        .sort((a, b) => b - a);
    } catch {
      return;
    }
    let sinceYield = 0;
    for (const pid of pids) {
      let fds: string[];
      try {
        fds = readdirSync(`${this.procRoot}/${pid}/fd`);
      } catch {
        continue; // gone, or not ours to look at (EACCES): attribution stays unknown
      }
      for (const fd of fds) {
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
      sinceYield += fds.length;
      if (sinceYield >= YIELD_EVERY) {
        sinceYield = 0;
        await new Promise<void>((r) => setImmediate(r)); // keep the event loop responsive on big hosts
      }
    }
  }
}
