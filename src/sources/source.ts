import type { RawSocket } from '../types.js';

export type { RawSocket };

export type SourceName = 'sockdiag' | 'procfs' | 'ss';

export interface ScanTarget {
  /** Read the network namespace of this process instead of our own. */
  netnsPid?: number;
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
}
