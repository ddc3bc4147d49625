/**
 * The raw tunnel through serve (serve/raw-tunnel.ts): per connection one HTTP request,
 * `GET /api/tunnel/<PORT>` with `Upgrade: portwatch-tcp`, and after serve's `101` the socket
 * is the connection inside the target: no framing, FIN for FIN, reset for reset. Plain Node
 * (http or https, as serve's URL says), so any host OS; on Linux the forward then hands the
 * socket to the addon's splice relay as it does in direct mode (connections.ts), and no byte
 * goes through JavaScript at either end.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

/** serve, or something in front of it, does not speak the raw tunnel: use the WebSocket. */
export class RawTunnelUnsupported extends Error {}

/** The Upgrade token of the raw tunnel (serve/raw-tunnel.ts answers it). */
export const RAW_TUNNEL_PROTOCOL = 'portwatch-tcp';

/**
 * Answers that mean "not this kind of upgrade": 400 from an older serve ("not a WebSocket
 * upgrade"), 426 from serve when a proxy that passes only WebSocket upgrades sent ours on as
 * a plain GET, 501 from such a proxy itself.
 */
const UNSUPPORTED = new Set([400, 426, 501]);

export interface RawTunnelOptions {
  /** serve's base URL: http://host:4040 or https://… */
  base: URL;
  token: string | null;
  connectTimeoutMs?: number;
}

/** http:// or https:// for the tunnel path on serve (the WebSocket's URL is this one as ws:// or wss://). */
export function rawTunnelUrl(base: URL, port: number): URL {
  return new URL(`api/tunnel/${port}`, base.href.endsWith('/') ? base.href : `${base.href}/`);
}

/** A connected socket to `port` in serve's namespace; rejects with serve's reason, or RawTunnelUnsupported. */
export function openRawTunnel(options: RawTunnelOptions, port: number, signal?: AbortSignal): Promise<net.Socket> {
  const url = rawTunnelUrl(options.base, port);
  const get = url.protocol === 'https:' ? https.request : http.request;
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const req = get(url, {
      method: 'GET',
      agent: false,
      headers: {
        Connection: 'Upgrade',
        Upgrade: RAW_TUNNEL_PROTOCOL,
        ...(options.token === null ? {} : { Authorization: `Bearer ${options.token}` }),
      },
    });
    const fail = (e: Error): void =>
      settle(() => {
        req.destroy();
        reject(e);
      });
    const timer = setTimeout(() => fail(new Error('the tunnel handshake timed out')), options.connectTimeoutMs ?? 10_000);
    const onAbort = (): void => fail(new Error('aborted'));
    signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', fail);
    req.once('upgrade', (res, socket: net.Socket, head: Buffer) => {
      if (res.headers.upgrade?.toLowerCase() !== RAW_TUNNEL_PROTOCOL) {
        socket.destroy();
        return fail(new RawTunnelUnsupported(`serve switched to ${res.headers.upgrade ?? 'nothing'}`));
      }
      settle(() => {
        socket.allowHalfOpen = true; // the target's FIN ends only its direction
        socket.setNoDelay(true);
        socket.setTimeout(0);
        if (head.length > 0) socket.unshift(head); // the target spoke first
        resolve(socket);
      });
    });
    req.once('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body = (body + c).slice(0, 500)));
      const refused = (): void => {
        const status = res.statusCode ?? 0;
        if (UNSUPPORTED.has(status)) return fail(new RawTunnelUnsupported(`serve answered ${status}`));
        fail(new Error(`serve refused the tunnel: ${status} ${body.trim().split('\n')[0] ?? ''}`.trim()));
      };
      res.on('end', refused);
      res.on('error', refused);
    });
    req.end();
  });
}
