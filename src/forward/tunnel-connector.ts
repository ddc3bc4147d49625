/**
 * Through serve: each host connection is one WebSocket to `/api/tunnel/<PORT>` on a
 * `portwatch serve` in the target, which connects there to what listens on that port (by
 * the same rules as its proxy). Plain Node on this side: it needs no Linux.
 */
import { WebSocket } from 'ws';
import type { Connector, TargetAddress } from './connector.js';
import { WebSocketDuplex } from './ws-duplex.js';

export interface TunnelConnectorOptions {
  /** serve's base URL: http://host:4040 or https://… */
  base: URL;
  token: string | null;
  connectTimeoutMs?: number;
}

/** ws:// or wss:// for a path on serve. */
export function tunnelUrl(base: URL, port: number): string {
  const url = new URL(`api/tunnel/${port}`, base.href.endsWith('/') ? base.href : `${base.href}/`);
  url.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.href;
}

export function createTunnelConnector(options: TunnelConnectorOptions): Connector {
  return {
    kind: 'tunnel',
    connect(to: TargetAddress, signal?: AbortSignal): Promise<WebSocketDuplex> {
      return new Promise((resolve, reject) => {
        const ws = new WebSocket(tunnelUrl(options.base, to.port), {
          headers: options.token === null ? {} : { Authorization: `Bearer ${options.token}` },
          perMessageDeflate: false,
          handshakeTimeout: options.connectTimeoutMs ?? 10_000,
          // A zero masking key: RFC 6455 masking protects caching proxies from scripts in
          // browsers; this client is not one (serve refuses requests with an Origin), and a
          // zero key lets both ends skip XOR-ing every byte in JavaScript.
          generateMask: (mask: Buffer) => void mask.fill(0),
        });
        const fail = (e: Error): void => {
          signal?.removeEventListener('abort', onAbort);
          ws.terminate();
          reject(e);
        };
        const onAbort = (): void => fail(new Error('aborted'));
        signal?.addEventListener('abort', onAbort, { once: true });
        ws.once('unexpected-response', (_req, res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body = (body + c).slice(0, 500)));
          res.on('end', () => fail(new Error(`serve refused the tunnel: ${res.statusCode} ${body.trim().split('\n')[0] ?? ''}`.trim())));
          res.on('error', () => fail(new Error(`serve refused the tunnel: ${res.statusCode}`)));
        });
        ws.once('error', (e) => fail(e));
        ws.once('open', () => {
          signal?.removeEventListener('abort', onAbort);
          ws.removeAllListeners('error');
          resolve(new WebSocketDuplex(ws));
        });
      });
    },
  };
}
