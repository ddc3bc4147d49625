/**
 * A walk over every process in the native addon (native/fd-walk.c): getdents64 and one
 * readlinkat per fd on up to 4 threads off the Node thread, instead of readdirSync and
 * readlinkSync on it. On a host with 100k fds it takes ~1/3 of the time of the JS walk
 * (fd-reader.ts) and never blocks the event loop. It is the JS walk's answer, not a new
 * one: each wanted inode's Hit is its first holder in pid order (the threads read any
 * process before a first holder to its end), other holders seen go to `also`, and the
 * processes started are the ones marked looked.
 *
 * Optional like the addon: null when it is not built, PORTWATCH_NO_NATIVE=1, or
 * PORTWATCH_WALK=js (the JS walk, for benches and tests); PORTWATCH_WALK_THREADS sets the
 * threads (1–8; default min(4, cores)). All three are read on every call.
 */
import { loadSockDiagAddon, sockDiagUnavailableReason } from '../sources/sock-diag-addon.js';
import type { Hit } from './fd-reader.js';
import type { FdTables } from './fd-tables.js';

/** Every holder seen: (inodes[i], pids[indexes[i]], fds[i]), in read order per thread. */
export interface NativeWalkResult {
  inodes: Float64Array;
  indexes: Int32Array;
  fds: Int32Array;
  /** The prefix of `pids` whose processes were started. */
  claimed: number;
  readlinks: number;
}

/**
 * Reads /proc/<pid>/fd of `pids` in order for `wanted` socket inodes and stops once each is
 * seen; holders of `known` inodes are reported but not waited for. threads: 1–8, 0 default.
 */
export type NativeWalk = (
  procRoot: string,
  pids: Int32Array,
  wanted: Float64Array,
  threads?: number,
  known?: Float64Array,
) => Promise<NativeWalkResult>;

interface WalkAddon {
  fdWalk?: NativeWalk;
  fdWalkHold?: (ms: number) => void;
}

/** Why {@link nativeWalk} returns null; null when the native walk is used. */
export function nativeWalkUnavailableReason(): string | null {
  if (process.env.PORTWATCH_WALK === 'js') return 'PORTWATCH_WALK=js';
  const addon = loadSockDiagAddon() as WalkAddon | null;
  if (addon === null) return sockDiagUnavailableReason() ?? 'the native addon is not loaded';
  if (typeof addon.fdWalk !== 'function') return 'the native addon has no fdWalk(); run npm run build:native';
  return null;
}

/** The native walk, or null when the JS walk is to be used. */
export function nativeWalk(): NativeWalk | null {
  if (nativeWalkUnavailableReason() !== null) return null;
  return (loadSockDiagAddon() as WalkAddon).fdWalk as NativeWalk;
}

/**
 * Holds the native walks running now for `ms` (at most 1 s), or releases them with 0: their
 * threads sleep between two fds (native/fd-walk-hold.c), leaving the cores to the thread that
 * reports a listener; walks started later are not held. A no-op without the native walk.
 */
export function holdWalks(ms: number): void {
  if (nativeWalkUnavailableReason() !== null) return;
  (loadSockDiagAddon() as WalkAddon).fdWalkHold?.(ms);
}

/** PORTWATCH_WALK_THREADS when it is a whole number 1–8; 0 (the addon's default) otherwise. */
function threadsFromEnv(): number {
  const n = Number(process.env.PORTWATCH_WALK_THREADS);
  return Number.isInteger(n) && n >= 1 && n <= 8 ? n : 0;
}

export interface WalkedAll {
  /** pids[0..claimed) were started. */
  claimed: number;
  readlinks: number;
}

/**
 * One walk of `pids` (newest first) by `walker`, moving what it finds from `wanted` to `hits`
 * as the JS walk would, and keeping `tables` as it would: a process found holding a wanted
 * socket is remembered (its next listener is looked for among its changed fds), and a process
 * remembered already counts as just read. A table kept is not refreshed by a native walk; it
 * only orders reads, so the next JS read of that process corrects it.
 */
export async function walkAllNative(
  walker: NativeWalk,
  procRoot: string,
  pids: readonly number[],
  wanted: Set<number>,
  hits: Map<number, Hit>,
  tables: FdTables,
): Promise<WalkedAll> {
  const order = Int32Array.from(pids);
  const known = Float64Array.from(hits.keys());
  const r = await walker(procRoot, order, Float64Array.from(wanted), threadsFromEnv(), known);
  // First holder in pid order: the lowest index; within one process, the first fd read.
  const first = new Map<number, number>();
  for (let i = 0; i < r.inodes.length; i++) {
    const inode = r.inodes[i] as number;
    if (!wanted.has(inode)) continue;
    const best = first.get(inode);
    if (best === undefined || (r.indexes[i] as number) < (r.indexes[best] as number)) first.set(inode, i);
  }
  const owners = new Set<number>();
  for (const [inode, i] of first) {
    const pid = order[r.indexes[i] as number] as number;
    wanted.delete(inode);
    hits.set(inode, { pid, fd: String(r.fds[i]), also: [] });
    owners.add(pid);
  }
  for (let i = 0; i < r.inodes.length; i++) {
    const hit = hits.get(r.inodes[i] as number);
    const pid = order[r.indexes[i] as number] as number;
    if (hit !== undefined && hit.pid !== pid && !hit.also.includes(pid)) hit.also.push(pid);
  }
  for (let i = 0; i < r.claimed; i++) {
    const pid = order[i] as number;
    if (owners.has(pid) || tables.has(pid)) tables.open(pid, owners.has(pid));
  }
  return { claimed: r.claimed, readlinks: r.readlinks };
}
