import type { RawSocket } from '../types.js';

export type { RawSocket };

export type SourceName = 'sockdiag' | 'procfs' | 'ss';

export interface ScanTarget {
  /** Read the network namespace of this process instead of our own. */
  netnsPid?: number;
}

/** How often a change watch may look: a fraction of one core for its own work, within bounds, or a fixed interval (ms). */
export interface ChangePolicy {
  cpuBudget: number;
  minMs: number;
  maxMs: number;
  fixedMs?: number;
}

/**
 * What a change watch has done so far: looks taken, how many found a change, the interval it
 * chose, the CPU of its last look (µs), and how many times it read only the kernel's socket
 * counts instead of looking (a big table: see native/poll-pace.h).
 */
export type ChangeWatchStats =
  { running: true; looks: number; changes: number; intervalMs: number; lastLookUs: number; counted: number } | { running: false };

export interface ChangeWatch {
  /** Stops it (idempotent); no callback runs afterwards. */
  stop(): void;
  stats(): ChangeWatchStats;
}

/** One way of reading the kernel's socket tables. Everything above it is shared. */
export interface Source {
  readonly name: SourceName;
  /**
   * The sockets now. May hand back the same array as the last call when nothing changed (sock_diag
   * does): callers read it, never change it.
   */
  scan(target: ScanTarget): Promise<readonly RawSocket[]>;
  /** Releases what the source keeps open between scans (e.g. a netlink socket). */
  close?(): void;
  /**
   * Looks for changes itself, off the main thread, on `policy`'s interval, and calls
   * `changed` when the table differs from its last look (the caller then scans); `failed`
   * once if it stops for good. Null when it cannot here: the caller polls on its own timer.
   * Throws like scan() for a target it cannot read.
   */
  watchChanges?(target: ScanTarget, policy: ChangePolicy, changed: () => void, failed: (error: Error) => void): ChangeWatch | null;
}
