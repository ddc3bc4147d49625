/**
 * serve's end of the raw tunnel: `GET /api/tunnel/<PORT>` with `Upgrade: portwatch-tcp`.
 * Let in, refused and connected exactly as the WebSocket tunnel is (tunnel.ts: the token,
 * no Origin, only a port listening now here, never serve's own); once the connection inside
 * is made, serve answers `101 Switching Protocols` and from then on the HTTP connection *is*
 * the TCP connection: bytes as they are, FIN for FIN, a reset for a reset, backpressure by
 * the kernel's windows. No framing means no JavaScript per byte: on Linux both sockets go to
 * the addon's splice relay (forward/splice-relay.ts), as the forward's own do; elsewhere, or
 * over TLS, the JavaScript relay (forward/relay.ts) joins them.
 *
 * The WebSocket stays for what only passes WebSockets (some proxies) and for older serves:
 * the forward falls back to it when serve answers this upgrade with 400, 426 or 501.
 */
import type { IncomingMessage } from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { RAW_TUNNEL_PROTOCOL } from '../forward/raw-tunnel-connector.js';
import { relay, type Relay } from '../forward/relay.js';
import { spliceRelay } from '../forward/splice-relay.js';

/** Whether an upgrade request asks for the raw tunnel rather than a WebSocket. */
export function wantsRawTunnel(req: IncomingMessage): boolean {
  return req.headers.upgrade?.trim().toLowerCase() === RAW_TUNNEL_PROTOCOL;
}

const SWITCHING = `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${RAW_TUNNEL_PROTOCOL}\r\n\r\n`;

/** A tunnel joined: how it moves bytes, and how to end it. */
export interface RawTunnel {
  /** The addon moves the bytes (splice), or JavaScript does. */
  spliced: boolean;
  relay: Relay;
}

/**
 * Answers 101 on `socket` and joins it to `upstream` (connected inside), handing on what the
 * client sent after its request (`head`) first. Calls `joined` once the bytes flow, or
 * destroys both when the client went away meanwhile.
 */
export function joinRaw(socket: Duplex, head: Buffer, upstream: net.Socket, joined: (t: RawTunnel) => void): void {
  if (socket instanceof net.Socket) {
    socket.allowHalfOpen = true; // a FIN from the client ends only its direction
    socket.setNoDelay(true);
  }
  // Until a relay listens: an error on either side (a reset from the target while the 101
  // waits to be written) ends both, instead of being an unhandled 'error' that ends serve.
  const early = (): void => {
    socket.destroy();
    upstream.destroy();
  };
  upstream.on('error', early);
  socket.on('error', early);
  socket.write(SWITCHING, (err) => {
    upstream.off('error', early);
    socket.off('error', early);
    if (err || socket.destroyed || upstream.destroyed) {
      socket.destroy();
      upstream.destroy();
      return;
    }
    if (head.length > 0) upstream.write(head);
    // Native when nothing of the connection is in JavaScript (head written: not yet flushed, so JavaScript).
    const spliced = head.length > 0 ? null : spliceRelay(socket, upstream);
    joined(spliced === null ? { spliced: false, relay: relay(socket, upstream) } : { spliced: true, relay: spliced });
  });
}
