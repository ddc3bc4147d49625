/**
 * Every process holding a socket, and the one to name. A listening socket created before
 * fork() is held by the parent and every child: nginx's master and workers, a pre-forking
 * Python or Ruby server, a Node cluster primary. A walk of /proc/<pid>/fd finds one holder
 * first (newest pid first: a worker) and stops when it has what it wants, so the rest of the
 * family is looked up directly instead: fork() copies the fd table, so the parent and the
 * other children hold the socket at the same fd number, and one readlink each tells.
 * Ancestors are followed by ppid; children through /proc/<pid>/task/<tid>/children (Linux
 * ≥ 3.5 with CONFIG_PROC_CHILDREN; without it only ancestors and what walks saw are known).
 *
 * The process named is the one a user would act on: the holder that is an ancestor of all
 * the others (the master), else the lowest pid (holders not related by fork, e.g. a socket
 * passed over a unix socket).
 */
import { readdirSync, readlinkSync } from 'node:fs';
import { parseStatPpid } from '../parse/proc-pid.js';
import { readBoundedText } from './read-bounded.js';

/** A family is looked at up to this many processes, and ancestors up to this depth. */
const MAX_FAMILY = 256;
const MAX_DEPTH = 64;
const MAX_THREADS = 256;

const SOCKET_PREFIX = 'socket:[';

/** The inode of a `socket:[N]` link text, or null for anything else. */
export function socketInode(link: string): number | null {
  if (!link.startsWith(SOCKET_PREFIX) || !link.endsWith(']')) return null;
  const n = Number(link.slice(SOCKET_PREFIX.length, -1));
  return Number.isSafeInteger(n) ? n : null;
}

/** The /proc reads the family search needs; each gives null (or []) when the process is gone or not ours to read. */
export class ProcFamily {
  private readonly ppids = new Map<number, number | null>();
  private readonly children = new Map<number, number[]>();
  readlinks = 0;

  constructor(private readonly procRoot = '/proc') {}

  ppidOf(pid: number): number | null {
    let ppid = this.ppids.get(pid);
    if (ppid === undefined) {
      const stat = readBoundedText(`${this.procRoot}/${pid}/stat`, 1024);
      ppid = stat === null ? null : parseStatPpid(stat);
      this.ppids.set(pid, ppid);
    }
    return ppid;
  }

  holds(pid: number, fd: string, inode: number): boolean {
    try {
      this.readlinks++;
      return socketInode(readlinkSync(`${this.procRoot}/${pid}/fd/${fd}`)) === inode;
    } catch {
      return false;
    }
  }

  /** Children of every thread of `pid` (a child belongs to the thread that forked it). */
  childrenOf(pid: number): number[] {
    let children = this.children.get(pid);
    if (children === undefined) {
      children = this.readChildren(pid);
      this.children.set(pid, children);
    }
    return children;
  }

  private readChildren(pid: number): number[] {
    let tids: string[];
    try {
      tids = readdirSync(`${this.procRoot}/${pid}/task`);
    } catch {
      return [];
    }
    const children: number[] = [];
    for (const tid of tids.slice(0, MAX_THREADS)) {
      const text = readBoundedText(`${this.procRoot}/${pid}/task/${tid}/children`, 64 * 1024);
      if (text === null) continue;
      for (const word of text.split(' ')) {
        const child = Number(word);
        if (word !== '' && Number.isSafeInteger(child) && child > 0) children.push(child);
      }
    }
    return children;
  }
}

/**
 * The processes that hold `inode` at `fd`, found from `pid` (which holds it) through its
 * ancestors and their descendants. Always contains `pid`; bounded to MAX_FAMILY processes.
 */
export function familyHolders(family: ProcFamily, pid: number, fd: string, inode: number): number[] {
  const holders = new Set<number>([pid]);
  let top = pid;
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const parent = family.ppidOf(top);
    if (parent === null || parent <= 0 || holders.has(parent) || !family.holds(parent, fd, inode)) break;
    holders.add(parent);
    top = parent;
  }
  const visited = new Set<number>([top]);
  const queue = [top];
  while (queue.length > 0 && visited.size < MAX_FAMILY) {
    const current = queue.shift() as number;
    for (const child of family.childrenOf(current)) {
      if (visited.has(child) || visited.size >= MAX_FAMILY) continue;
      visited.add(child);
      if (holders.has(child) || family.holds(child, fd, inode)) {
        holders.add(child);
        queue.push(child);
      }
    }
  }
  return [...holders].sort((a, b) => a - b);
}

/** Is `ancestor` on the ppid chain of `pid` (bounded)? */
function isAncestor(ancestor: number, pid: number, ppidOf: (pid: number) => number | null): boolean {
  let current: number | null = pid;
  for (let depth = 0; depth < MAX_DEPTH && current !== null && current > 0; depth++) {
    current = ppidOf(current);
    if (current === ancestor) return true;
  }
  return false;
}

/**
 * The holder to name: the one that is an ancestor of every other holder (the master of a
 * pre-forked server), else the lowest pid. `holders` is never empty.
 */
export function chooseOwner(holders: readonly number[], ppidOf: (pid: number) => number | null): number {
  const sorted = [...holders].sort((a, b) => a - b);
  if (sorted.length === 1) return sorted[0] as number;
  for (const candidate of sorted) {
    if (sorted.every((other) => other === candidate || isAncestor(candidate, other, ppidOf))) return candidate;
  }
  return sorted[0] as number;
}
