/**
 * A connector opens a connection to a port *in the target*: inside another network
 * namespace (direct mode), or through a `portwatch serve` tunnel. The forwarder never
 * knows which.
 */
import type { Duplex } from 'node:stream';

export interface TargetAddress {
  /** The address to connect to inside the target: 127.0.0.1, ::1, or a listener's own. */
  address: string;
  port: number;
  family: 4 | 6;
}

export interface Connector {
  /** How connections reach the target: `netns` (a socket made inside it), `tunnel` (through serve). */
  readonly kind: 'netns' | 'tunnel';
  /** A connected duplex with allowHalfOpen semantics, or a rejection with the reason. */
  connect(to: TargetAddress, signal?: AbortSignal): Promise<Duplex>;
}
