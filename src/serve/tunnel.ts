/**
 * serve's end of `portwatch forward URL`: a WebSocket at /api/tunnel/<PORT> that carries one
 * TCP connection to what listens on PORT here. It is let in by the same access decision as
 * everything else (the token when serve has one), connects only where the proxy would (a
 * TCP port listening now in serve's namespace, never serve's own port), and refuses any
 * request a browser page makes (an Origin header): a tunnel is for portwatch, not for pages,
 * and WebSockets are not bound by CORS.
 *
 * The upgrade is accepted only once the connection inside is made, so a refused port is an
 * HTTP answer (502 and the reason) rather than a tunnel that dies at once.
 */
import type { IncomingMessage } from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { relay } from '../forward/relay.js';
import { WebSocketDuplex } from '../forward/ws-duplex.js';
import type { ProxyResolution } from './proxy-target.js';
import { rejectUpgrade } from './responses.js';

const TUNNEL_PATH = /^\/api\/tunnel\/([1-9]\d{0,4})$/;
const CONNECT_TIMEOUT_MS = 10_000;

/** The port of a tunnel path, or null when the path is not one. */
export function tunnelPort(path: string): number | null {
  const m = TUNNEL_PATH.exec(path);
  const port = m ? Number(m[1]) : NaN;
  return port >= 1 && port <= 65535 ? port : null;
}

export interface TunnelContext {
  resolve(port: number): ProxyResolution;
  /** Every socket of the tunnel, so that serve's close() ends them. */
  track(socket: Duplex): void;
  log(message: string): void;
}

export class TunnelEndpoint {
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 16 * 1024 * 1024 });

  handle(req: IncomingMessage, socket: Duplex, head: Buffer, port: number, ctx: TunnelContext): void {
    if (req.headers.origin !== undefined)
      return rejectUpgrade(socket, 403, 'the tunnel is not for pages (a request with an Origin header)');
    const resolved = ctx.resolve(port);
    if (!resolved.ok) return rejectUpgrade(socket, resolved.status, resolved.reason);
    const { host, family } = resolved.target;
    const upstream = net.connect({ host, port, family, allowHalfOpen: true });
    const timer = setTimeout(() => upstream.destroy(new Error('connect timed out')), CONNECT_TIMEOUT_MS);
    const refuse = (e: NodeJS.ErrnoException): void => {
      clearTimeout(timer);
      rejectUpgrade(socket, 502, `cannot connect to port ${port}: ${e.code ?? e.message}`);
    };
    upstream.once('error', refuse);
    socket.once('close', () => upstream.destroy());
    upstream.once('connect', () => {
      clearTimeout(timer);
      upstream.off('error', refuse);
      if (socket.destroyed) return void upstream.destroy();
      ctx.track(upstream);
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        const r = relay(new WebSocketDuplex(ws), upstream);
        void r.done.then((e) => {
          if (e !== null && !/ECONNRESET|EPIPE|closed/.test(e.message)) ctx.log(`tunnel to port ${port} ended: ${e.message}`);
        });
      });
    });
  }

  close(): void {
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
  }
}
