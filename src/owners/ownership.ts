/**
 * From the processes holding a socket to what a listener says about them: the owner to name
 * (see chooseOwner) with its full ProcessInfo, and every holder by pid and name. Holders that
 * exited since the walk saw them are dropped; /proc is read once per pid per call.
 */
import type { ProcessInfo, ProcessRef } from '../listener.js';
import { chooseOwner } from './holders.js';
import { readProcessInfo } from './process-info.js';

/** Who holds a socket: the owner to name and every holder (the owner included). */
export interface Ownership {
  process: ProcessInfo | null;
  holders: ProcessRef[];
}

/** A socket whose owner is not known (yet, or ever): no process, no holders. Shared, frozen. */
export const UNKNOWN_OWNER: Ownership = Object.freeze({ process: null, holders: Object.freeze([]) as unknown as ProcessRef[] });

/**
 * The ownership of each inode in `found` (inode → holder pids, as SocketOwners.resolve gives
 * them); inodes whose holders have all exited are left out.
 */
export function ownershipsOf(
  found: ReadonlyMap<number, readonly number[]>,
  readInfo: (pid: number) => ProcessInfo | null = readProcessInfo,
): Map<number, Ownership> {
  const infos = new Map<number, ProcessInfo | null>();
  const info = (pid: number): ProcessInfo | null => {
    let i = infos.get(pid);
    if (i === undefined) {
      i = readInfo(pid);
      infos.set(pid, i);
    }
    return i;
  };
  const result = new Map<number, Ownership>();
  for (const [inode, pids] of found) {
    const alive = pids.filter((pid) => info(pid) !== null);
    if (alive.length === 0) continue;
    const owner = info(chooseOwner(alive, (pid) => info(pid)?.ppid ?? null));
    result.set(inode, { process: owner, holders: alive.map((pid) => ({ pid, name: (info(pid) as ProcessInfo).name })) });
  }
  return result;
}
