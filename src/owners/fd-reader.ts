/**
 * Reading one process's fd table for wanted socket inodes. A process read before (a kernel
 * event named it, or it owned a listener) is first probed where a new listener most likely
 * is — the fds that held a wanted socket, the fds freed by listeners that closed, the first
 * free numbers — with no directory listing at all; only when that does not find everything is
 * the directory listed and read, changed fds first (fd-tables.ts). A process never read is
 * listed and read in order. Every readlink is one syscall (2–15 µs); a listing of a table
 * with hundreds of fds costs more than the few readlinks a probe needs.
 */
import { readdirSync, readlinkSync, statfsSync, statSync } from 'node:fs';
import type { FdTable, FdTables } from './fd-tables.js';
import { socketInode } from './holders.js';
import { readBoundedText } from './read-bounded.js';

/** Where a walk first found a wanted socket, and the other processes it saw holding it. */
export interface Hit {
  pid: number;
  fd: string;
  also: number[];
}

export interface ReadPlan {
  /** Remember this process's table (a kernel event named it). */
  track: boolean;
  /** Read only the fds that changed since the last read (a look at recent owners). */
  changedOnly: boolean;
  /** Readlinks this read may spend, shared by the reads of one look; unbounded when absent. */
  budget?: { left: number };
}

const YIELD_EVERY = 2_000;
/** procfs's f_type (statfs(2)): only there is a directory's size its number of entries. */
const PROC_SUPER_MAGIC = 0x9fa0;
/**
 * A listing's cost against a budget of readlinks: getdents on /proc/<pid>/fd costs ~1–2 µs an
 * fd and a readlink ~8–11 µs (by hand: 18,005 fds listed in 17–33 ms, 1,000 readlinks in 7–11).
 */
const LISTED_PER_READLINK = 4;

export class FdReader {
  readlinks = 0;
  private sinceYield = 0;
  private procfs: boolean | undefined;

  constructor(
    private readonly procRoot: string,
    private readonly tables: FdTables,
  ) {}

  /** Reads `pid`'s fds, moving what it finds from `wanted` to `hits`; false when the process is gone or not ours to read. */
  async read(
    pid: number,
    wanted: Set<number>,
    hits: Map<number, Hit>,
    plan: ReadPlan,
    isListener: (inode: number) => boolean,
  ): Promise<boolean> {
    // A look at recent owners does not change which are recent; finding one does.
    let table = plan.changedOnly ? this.tables.peek(pid) : this.tables.open(pid, plan.track);
    if (plan.changedOnly && table === null) return true; // nothing to tell changed fds by
    let found = false;
    let probed: ReadonlySet<string> = new Set();
    if (table !== null && table.reads > 0) {
      probed = new Set(this.tables.candidates(table, wanted, isListener));
      for (const fd of probed) if (this.spend(plan) && this.one(pid, fd, table, wanted, hits, isListener)) found = true;
    }
    if (wanted.size > 0) {
      if (plan.budget !== undefined) {
        // Too big to list within the look's budget (a server holding thousands of connections): the walk reads it, off this thread.
        const cost = Math.ceil((this.openFds(pid) ?? 0) / LISTED_PER_READLINK);
        if (plan.budget.left <= 0 || cost > plan.budget.left) {
          if (found) this.tables.open(pid, true); // a probe found it: the most recent owner now
          return true;
        }
        plan.budget.left -= cost;
      }
      let fds: string[];
      try {
        fds = readdirSync(`${this.procRoot}/${pid}/fd`);
      } catch {
        this.tables.forget(pid);
        return false; // gone, or not ours to look at (EACCES): attribution stays unknown
      }
      for (const fd of this.tables.order(table, fds, wanted, isListener, plan.changedOnly)) {
        if (wanted.size === 0) break;
        if (probed.has(fd)) continue;
        if (!this.spend(plan)) break;
        // Yield inside a process too: one server may hold tens of thousands of fds.
        if (++this.sinceYield >= YIELD_EVERY) {
          this.sinceYield = 0;
          await new Promise<void>((r) => setImmediate(r)); // keep the event loop responsive on big hosts
        }
        if (this.one(pid, fd, table, wanted, hits, isListener)) found = true;
      }
      // An owner's table is kept too: its next listener is found among its changed fds.
      if (found) table = this.tables.open(pid, true);
      if (table !== null) this.tables.listed(pid, table, fds);
    } else if (found) {
      this.tables.open(pid, true);
    }
    return true;
  }

  /**
   * Whether the plan's budget allows one more readlink. A look at recent owners is bounded:
   * a table a native walk kept but never listed (the owner of a listener among thousands of
   * connections) is all "changed", and reading it whole on the Node thread took ~1 s at 60k
   * fds before the walk that finds a new process's listener in a millisecond. What the budget
   * leaves unread stays unknown and is read by the next looks, a budget at a time.
   */
  private spend(plan: ReadPlan): boolean {
    if (plan.budget === undefined) return true;
    if (plan.budget.left <= 0) return false;
    plan.budget.left--;
    return true;
  }

  /**
   * How many fds `pid` has open, without listing them: procfs gives it as the size of
   * /proc/<pid>/fd (Linux 6.2 on); before that, the fd table's size (FDSize in status, a
   * power of two above the highest fd) bounds it. Null when unknown (a test's root).
   */
  private openFds(pid: number): number | null {
    if (this.procfs === undefined) {
      try {
        this.procfs = statfsSync(this.procRoot).type === PROC_SUPER_MAGIC;
      } catch {
        this.procfs = false;
      }
    }
    if (!this.procfs) return null;
    try {
      const size = statSync(`${this.procRoot}/${pid}/fd`).size;
      if (size > 0) return size;
    } catch {
      return null;
    }
    const status = readBoundedText(`${this.procRoot}/${pid}/status`, 4096);
    const fdSize = status === null ? null : /^FDSize:\s+(\d+)$/m.exec(status)?.[1];
    return fdSize === null || fdSize === undefined ? null : Number(fdSize);
  }

  /** One readlink; true when it found a wanted inode. */
  private one(
    pid: number,
    fd: string,
    table: FdTable | null,
    wanted: Set<number>,
    hits: Map<number, Hit>,
    isListener: (inode: number) => boolean,
  ): boolean {
    let link: string;
    try {
      this.readlinks++;
      link = readlinkSync(`${this.procRoot}/${pid}/fd/${fd}`);
    } catch {
      if (table !== null) this.tables.closed(table, fd);
      return false;
    }
    const inode = socketInode(link);
    if (table !== null) this.tables.note(table, fd, inode ?? 0, inode !== null && isListener(inode));
    if (inode === null) return false;
    if (wanted.delete(inode)) {
      hits.set(inode, { pid, fd, also: [] });
      return true;
    }
    const hit = hits.get(inode);
    if (hit !== undefined && hit.pid !== pid && !hit.also.includes(pid)) hit.also.push(pid);
    return false;
  }
}
