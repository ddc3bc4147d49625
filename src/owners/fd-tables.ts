/**
 * What the last read of a process's fd table showed, so that the next read of the same
 * process looks where a new socket can be first. A process that opens listeners (the one a
 * kernel event names, an owner found before) is read again and again under churn; a new
 * socket takes an fd number that is new since the last read or one a closed socket freed,
 * so those are read first and the read stops when every wanted socket is found: a new
 * listener in a process with thousands of fds costs a few readlinks, not thousands.
 *
 * Tables are typed arrays indexed by fd number, updated in place: a process read at every
 * scan costs no new objects. Only a few processes are remembered (least recently read out
 * first), and not those with fd numbers beyond MAX_FD, so memory stays small whatever the host holds.
 */

/** Processes remembered, and the highest fd number a remembered table may hold. */
const MAX_PROCESSES = 32;
const MAX_FD = 65_535;

/** Free fd numbers probed below the highest in use, and above it. */
const FREE_PROBES = 4;
/** Smaller tables are listed and read instead: a listing of a few fds costs less than the probes. */
const PROBE_FROM_FD = 64;

const KNOWN = 1;
const LISTENER = 2;

/** By fd number: the socket inode read there (0: not a socket), flags, and the read that last listed it. */
export interface FdTable {
  inodes: Float64Array;
  flags: Uint8Array;
  listed: Uint32Array;
  reads: number;
}

function newTable(capacity: number): FdTable {
  return { inodes: new Float64Array(capacity), flags: new Uint8Array(capacity), listed: new Uint32Array(capacity), reads: 0 };
}

/** fd numbers as /proc/<pid>/fd lists them; -1 for anything else. */
function fdNumber(name: string): number {
  const n = Number(name);
  return Number.isInteger(n) && n >= 0 ? n : -1;
}

export class FdTables {
  private readonly tables = new Map<number, FdTable>();

  has(pid: number): boolean {
    return this.tables.has(pid);
  }

  get size(): number {
    return this.tables.size;
  }

  /** The table to record a read of `pid` in: the one kept, else a new one when `create`; null when not remembered. */
  open(pid: number, create: boolean): FdTable | null {
    let table = this.tables.get(pid);
    if (table === undefined && !create) return null;
    this.tables.delete(pid); // re-inserted last: the most recently read
    table ??= newTable(64);
    this.tables.set(pid, table);
    if (this.tables.size > MAX_PROCESSES) this.tables.delete(this.tables.keys().next().value as number);
    return table;
  }

  /** The table kept for `pid`, without making it the most recently read. */
  peek(pid: number): FdTable | null {
    return this.tables.get(pid) ?? null;
  }

  forget(pid: number): void {
    this.tables.delete(pid);
  }

  /** The processes remembered, most recently read first: the likely owners of the next new socket. */
  recent(): number[] {
    return [...this.tables.keys()].reverse();
  }

  /**
   * `fds` (a fresh listing of the process's fd directory) in the order to read them: fds
   * that held a wanted socket at the last read (a socket seen before it listened), fds not
   * seen then, fds whose listener has closed since, other sockets and files, and last the fds
   * still holding a live listener. `changedOnly`: the first three only (where a new listener
   * most likely is; nothing for a process never read).
   */
  order(
    table: FdTable | null,
    fds: readonly string[],
    wanted: ReadonlySet<number>,
    isListener: (inode: number) => boolean,
    changedOnly = false,
  ): readonly string[] {
    if (table === null) return changedOnly ? [] : fds;
    const tiers = new Uint8Array(fds.length);
    fds.forEach((name, i) => {
      const fd = fdNumber(name);
      const flags = fd >= 0 && fd < table.flags.length ? (table.flags[fd] as number) : 0;
      const inode = table.inodes[fd] as number;
      if ((flags & KNOWN) === 0) tiers[i] = 1;
      else if (inode !== 0 && wanted.has(inode)) tiers[i] = 0;
      else if ((flags & LISTENER) === 0) tiers[i] = 3;
      else tiers[i] = isListener(inode) ? 4 : 2;
    });
    const out = new Array<string>(fds.length);
    let o = 0;
    const last = changedOnly ? 2 : 4;
    for (let tier = 0; tier <= last; tier++) for (let i = 0; i < fds.length; i++) if (tiers[i] === tier) out[o++] = fds[i] as string;
    out.length = o;
    return out;
  }

  /**
   * Where a new listener most likely is, without listing the directory: fds that held a
   * wanted socket (seen before it listened), fds freed by listeners that closed since, then
   * the lowest fd numbers not in use at the last read and the few above the highest (a new
   * fd takes the lowest free number). Only for a table a listing filled; none for a small one.
   */
  candidates(table: FdTable, wanted: ReadonlySet<number>, isListener: (inode: number) => boolean): string[] {
    const { flags, inodes } = table;
    let max = -1;
    for (let fd = 0; fd < flags.length; fd++) if (((flags[fd] as number) & KNOWN) !== 0) max = fd;
    const out: string[] = [];
    if (max < PROBE_FROM_FD) return out;
    for (let fd = 0; fd <= max; fd++) if (((flags[fd] as number) & KNOWN) !== 0 && wanted.has(inodes[fd] as number)) out.push(String(fd));
    for (let fd = 0; fd <= max; fd++)
      if (((flags[fd] as number) & LISTENER) !== 0 && !isListener(inodes[fd] as number)) out.push(String(fd));
    let holes = 0;
    for (let fd = 0; fd <= max && holes < FREE_PROBES; fd++) {
      if (((flags[fd] as number) & KNOWN) !== 0) continue;
      out.push(String(fd));
      holes++;
    }
    for (let fd = max + 1; fd <= max + FREE_PROBES; fd++) out.push(String(fd));
    return out;
  }

  /** A readlink of `fd` found nothing there: closed since. */
  closed(table: FdTable, name: string): void {
    const fd = fdNumber(name);
    if (fd >= 0 && fd < table.flags.length) table.flags[fd] = 0;
  }

  /** What one readlink of `fd` in `table` showed (0: not a socket). */
  note(table: FdTable, name: string, inode: number, listener: boolean): void {
    const fd = fdNumber(name);
    if (fd < 0 || fd > MAX_FD) return;
    if (fd >= table.flags.length) this.grow(table, fd);
    table.inodes[fd] = inode;
    table.flags[fd] = KNOWN | (listener && inode !== 0 ? LISTENER : 0);
  }

  /** A read of `pid` listed `fds`: what is no longer listed is forgotten; what was not read keeps what it held. */
  listed(pid: number, table: FdTable, fds: readonly string[]): void {
    const read = (table.reads = (table.reads + 1) >>> 0 || 1);
    for (const name of fds) {
      const fd = fdNumber(name);
      if (fd > MAX_FD) {
        this.tables.delete(pid); // too large to remember
        return;
      }
      if (fd >= 0 && fd < table.listed.length) table.listed[fd] = read;
    }
    for (let fd = 0; fd < table.flags.length; fd++) if (table.listed[fd] !== read) table.flags[fd] = 0;
  }

  private grow(table: FdTable, fd: number): void {
    let capacity = table.flags.length;
    while (capacity <= fd) capacity *= 2;
    const bigger = newTable(capacity);
    bigger.inodes.set(table.inodes);
    bigger.flags.set(table.flags);
    bigger.listed.set(table.listed);
    bigger.reads = table.reads;
    Object.assign(table, bigger);
  }
}
