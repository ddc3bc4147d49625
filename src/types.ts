/** Plain shapes shared by every layer (types only: no code, no imports of code). */
import type { Family, Protocol } from './listener.js';

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
  /**
   * The device the socket is bound to (SO_BINDTODEVICE, or the scope of a link-local
   * address): its name, `if<index>` when the name is unknown (as iproute2 writes it), null
   * when it is not bound or the source cannot see it (procfs). Undefined reads as null.
   */
  interface?: string | null;
}
