import type { Family, Protocol } from '../listener.js';

/** A listening socket exactly as a source reports it, before owners are attached. */
export interface RawSocket {
  protocol: Protocol;
  family: Family;
  address: string;
  port: number;
  inode: number;
  uid: number;
  /** IPV6_V6ONLY for IPv6 sockets when the source knows it; null otherwise. */
  v6only: boolean | null;
  /**
   * For sources that can only say "this IPv6 wildcard socket is dual-stack" (ss prints `*`),
   * the answer itself. Undefined means: derive it from family, address and v6only.
   */
  dualStack?: boolean | null;
}

export type SourceName = 'sockdiag' | 'procfs' | 'ss';

export interface ScanTarget {
  /** Read the network namespace of this process instead of our own. */
  netnsPid?: number;
}

/** One way of reading the kernel's socket tables. Everything above it is shared. */
export interface Source {
  readonly name: SourceName;
  scan(target: ScanTarget): Promise<RawSocket[]>;
  /** Releases what the source keeps open between scans (e.g. a netlink socket). */
  close?(): void;
}
