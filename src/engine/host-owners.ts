/**
 * One owner index for every namespace on the host. Socket inodes are unique across network
 * namespaces (they come from one sockfs), and /proc/<pid>/fd shows every process's sockets
 * whatever namespace they live in, so one SocketOwners serves all namespaces: a new socket
 * anywhere costs at most one walk of /proc, not one walk per namespace.
 *
 * What is known is kept per inode until the socket is gone (the caller says which are live).
 */
import { ownershipsOf, UNKNOWN_OWNER, type Ownership } from '../owners/ownership.js';
import { readProcessInfo } from '../owners/process-info.js';
import { SocketOwners } from '../owners/socket-owners.js';

export { UNKNOWN_OWNER, type Ownership } from '../owners/ownership.js';

export class HostOwners {
  private readonly owners: SocketOwners;
  private readonly known = new Map<number, Ownership>();

  constructor(private readonly procRoot = '/proc') {
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
    for (const inode of found.keys()) if (!this.known.has(inode)) found.delete(inode); // gone meanwhile
    // The owner named and the holders listed exactly as a PortWatcher's scanner does (owners/ownership.ts).
    for (const [inode, ownership] of ownershipsOf(found, (pid) => readProcessInfo(pid, this.procRoot))) this.known.set(inode, ownership);
  }
}
