/**
 * One owner index for every namespace on the host. Socket inodes are unique across network
 * namespaces (they come from one sockfs), and /proc/<pid>/fd shows every process's sockets
 * whatever namespace they live in, so one SocketOwners serves all namespaces: a new socket
 * anywhere costs at most one walk of /proc, not one walk per namespace.
 *
 * What is known is kept per inode until the socket is gone (the caller says which are live).
 */
import type { ProcessInfo, ProcessRef } from '../listener.js';
import { chooseOwner } from '../owners/holders.js';
import { readProcessInfo } from '../owners/process-info.js';
import { SocketOwners } from '../owners/socket-owners.js';

export interface Ownership {
  process: ProcessInfo | null;
  holders: ProcessRef[];
}

export const UNKNOWN_OWNER: Ownership = Object.freeze({ process: null, holders: Object.freeze([]) as unknown as ProcessRef[] });

export class HostOwners {
  private readonly owners: SocketOwners;
  private readonly known = new Map<number, Ownership>();

  constructor(procRoot = '/proc') {
    this.owners = new SocketOwners(procRoot);
  }

  /** Who holds `inode` (UNKNOWN_OWNER until found). */
  of(inode: number): Ownership {
    return this.known.get(inode) ?? UNKNOWN_OWNER;
  }

  /** Remembers `inode` as live; true when no owner is known for it yet. */
  track(inode: number): boolean {
    const o = this.known.get(inode);
    if (o === undefined) this.known.set(inode, UNKNOWN_OWNER);
    return o === undefined || o === UNKNOWN_OWNER;
  }

  /** Forgets sockets that are gone, here and in the walk's memory. */
  forget(gone: Iterable<number>): void {
    let any = false;
    for (const inode of gone) any = this.known.delete(inode) || any;
    if (any) this.owners.forget((inode) => this.known.has(inode));
  }

  /** Walks of /proc/<pid>/fd so far. */
  get walks(): number {
    return this.owners.stats.walks;
  }

  /**
   * Finds the holders of `unknown` inodes and names an owner for each it can. `likely`: tasks a
   * kernel event named (read first); `stillListening`: a fresh look, asked before a whole walk.
   */
  async attribute(
    unknown: readonly number[],
    likely: readonly number[],
    stillListening: (inodes: readonly number[]) => Promise<ReadonlySet<number>>,
  ): Promise<void> {
    if (unknown.length === 0) return;
    const isListener = (inode: number): boolean => this.known.has(inode);
    const found = await this.owners.resolve(unknown, { likely, isListener, stillListening });
    const infos = new Map<number, ProcessInfo | null>();
    const info = (pid: number): ProcessInfo | null => {
      let i = infos.get(pid);
      if (i === undefined) infos.set(pid, (i = readProcessInfo(pid)));
      return i;
    };
    for (const [inode, pids] of found) {
      if (!this.known.has(inode)) continue; // gone meanwhile
      const alive = pids.filter((pid) => info(pid) !== null);
      if (alive.length === 0) continue;
      const owner = info(chooseOwner(alive, (pid) => info(pid)?.ppid ?? null));
      this.known.set(inode, { process: owner, holders: alive.map((pid) => ({ pid, name: (info(pid) as ProcessInfo).name })) });
    }
  }
}
