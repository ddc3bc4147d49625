/**
 * Through serve: each host connection is one WebSocket to `/api/tunnel/<PORT>` on a
 * `portwatch serve` in the target, which connects there to what listens on that port (by
 * the same rules as its proxy). Plain Node on this side: it needs no Linux. The ws library
 * speaks the protocol (http or https, as serve's URL says); WebSocketDuplex (ws-duplex.ts)
 * makes it a Duplex for the relay.
 */
import { WebSocket } from 'ws';
import type { Connector, TargetAddress } from './connector.js';
import { WS_OPTIONS, WebSocketDuplex } from './ws-duplex.js';

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
    connect: (to: TargetAddress, signal?: AbortSignal) => openTunnel(options, to.port, signal),
  };
}

function openTunnel(options: TunnelConnectorOptions, port: number, signal?: AbortSignal): Promise<WebSocketDuplex> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(tunnelUrl(options.base, port), {
      ...WS_OPTIONS,
      headers: options.token === null ? {} : { Authorization: `Bearer ${options.token}` },
      handshakeTimeout: options.connectTimeoutMs ?? 10_000,
      // A zero masking key: RFC 6455 masking protects caching proxies from scripts in
      // browsers; this client is not one (serve refuses requests with an Origin), and with a
      // zero key ws at both ends skips XOR-ing (and copying) every byte.
      generateMask: (mask: Buffer) => void mask.fill(0),
    });
    let settled = false;
    const fail = (e: Error): void => {
      if (settled) return;
      settled = true;
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
    ws.on('error', fail);
    ws.once('open', () => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      ws.off('error', fail);
      resolve(new WebSocketDuplex(ws));
    });
  });
}
