/**
 * Through serve: each host connection is one request to `/api/tunnel/<PORT>` on a
 * `portwatch serve` in the target, which connects there to what listens on that port (by
 * the same rules as its proxy). Plain Node on this side: it needs no Linux. First as the raw
 * tunnel (raw-tunnel-connector.ts: the socket itself after a 101, spliced on Linux); if serve
 * refuses that kind of upgrade (an older serve, a proxy that passes WebSockets only), as a
 * WebSocket from then on: the ws library speaks it (http or https, as serve's URL says) and
 * WebSocketDuplex (ws-duplex.ts) makes it a Duplex for the relay.
 */
import type { Duplex } from 'node:stream';
import { WebSocket } from 'ws';
import type { Connector, TargetAddress } from './connector.js';
import { openRawTunnel, rawTunnelUrl, RawTunnelUnsupported } from './raw-tunnel-connector.js';
import { WS_OPTIONS, WebSocketDuplex } from './ws-duplex.js';

export interface TunnelConnectorOptions {
  /** serve's base URL: http://host:4040 or https://… */
  base: URL;
  token: string | null;
  connectTimeoutMs?: number;
}

/** ws:// or wss:// for a path on serve. */
export function tunnelUrl(base: URL, port: number): string {
  const url = rawTunnelUrl(base, port);
  url.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.href;
}

/** How the forward reaches serve: `raw` first (falling back for good on the first refusal of it), or `ws` only. */
export type TunnelProtocol = 'raw' | 'ws';

/** PORTWATCH_TUNNEL=ws: the WebSocket only (for what passes nothing else, and benches); else raw first. */
function protocolFromEnv(): TunnelProtocol {
  return process.env.PORTWATCH_TUNNEL === 'ws' ? 'ws' : 'raw';
}

export function createTunnelConnector(options: TunnelConnectorOptions & { protocol?: TunnelProtocol }): Connector & {
  /** The protocol connections use now ('ws' once serve refused the raw tunnel). */
  protocol(): TunnelProtocol;
} {
  let protocol = options.protocol ?? protocolFromEnv();
  const connect = async (to: TargetAddress, signal?: AbortSignal): Promise<Duplex> => {
    if (protocol === 'raw') {
      try {
        return await openRawTunnel(options, to.port, signal);
      } catch (e) {
        if (!(e instanceof RawTunnelUnsupported)) throw e;
        protocol = 'ws'; // an older serve, or a proxy that passes WebSockets only
      }
    }
    return openTunnel(options, to.port, signal);
  };
  return { kind: 'tunnel', connect, protocol: () => protocol };
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
