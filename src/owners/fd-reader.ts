/**
 * Reading one process's fd table for wanted socket inodes. A process read before (a kernel
 * event named it, or it owned a listener) is first probed where a new listener most likely
 * is — the fds that held a wanted socket, the fds freed by listeners that closed, the first
 * free numbers — with no directory listing at all; only when that does not find everything is
 * the directory listed and read, changed fds first (fd-tables.ts). A process never read is
 * listed and read in order. Every readlink is one syscall (2–15 µs); a listing of a table
 * with hundreds of fds costs more than the few readlinks a probe needs.
 */
import { readdirSync, readlinkSync } from 'node:fs';
import type { FdTable, FdTables } from './fd-tables.js';
import { socketInode } from './holders.js';

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
}

const YIELD_EVERY = 2_000;

export class FdReader {
  readlinks = 0;
  private sinceYield = 0;

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
    let found = false;
    let probed: ReadonlySet<string> = new Set();
    if (table !== null && table.reads > 0) {
      probed = new Set(this.tables.candidates(table, wanted, isListener));
      for (const fd of probed) if (this.one(pid, fd, table, wanted, hits, isListener)) found = true;
    }
    if (wanted.size > 0) {
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
