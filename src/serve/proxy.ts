/**
 * The reverse proxy, on node:http and node:net: a request is streamed to the target and the
 * response streamed back (server-sent events and long downloads included); an Upgrade
 * request (WebSocket: dev servers' hot reload) is forwarded, then the two sockets are piped
 * together. The header rewriting is pure and tested on its own.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { connect as netConnect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import type { ProxyTarget } from './proxy-target.js';
import { rejectUpgrade, sendError } from './responses.js';
import { SESSION_COOKIE, bearerToken, secretsEqual } from './security.js';

/** Headers that describe one connection, never forwarded as they are (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

export interface RouteInfo {
  /** The port proxied to. */
  port: number;
  /** `/proxy/<port>` for the path form; null for p<port>.localhost. */
  prefix: string | null;
  /** The Host the client used (kept, so the target builds links that come back through the proxy). */
  publicHost: string;
}

export interface UpstreamHeaderOptions extends RouteInfo {
  /** portwatch's token: its Bearer header and session cookie are not passed on. */
  token: string | null;
  clientAddress: string | undefined;
  upgrade: boolean;
}

/** `rawHeaders` of a client request → `rawHeaders` for the target. */
export function upstreamRequestHeaders(raw: readonly string[], o: UpstreamHeaderOptions): string[] {
  const named = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) {
    if ((raw[i] as string).toLowerCase() === 'connection') {
      for (const t of (raw[i + 1] as string).split(',')) named.add(t.trim().toLowerCase());
    }
  }
  const out: string[] = [];
  let forwardedFor: string | null = null;
  let chunked = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    let value = raw[i + 1] as string;
    const lower = name.toLowerCase();
    if (lower === 'transfer-encoding') {
      chunked ||= /chunked/i.test(value);
      continue;
    }
    if (HOP_BY_HOP.has(lower) || named.has(lower)) continue;
    if (lower.startsWith('x-forwarded-')) {
      if (lower === 'x-forwarded-for') forwardedFor = forwardedFor === null ? value : `${forwardedFor}, ${value}`;
      continue;
    }
    if (lower === 'authorization' && o.token !== null) {
      const bearer = bearerToken(value);
      if (bearer !== null && secretsEqual(bearer, o.token)) continue;
    }
    if (lower === 'cookie') {
      const kept = value
        .split(';')
        .map((c) => c.trim())
        .filter((c) => c !== '' && !c.startsWith(`${SESSION_COOKIE}=`));
      if (kept.length === 0) continue;
      value = kept.join('; ');
    }
    out.push(name, value);
  }
  if (chunked) out.push('Transfer-Encoding', 'chunked');
  if (o.upgrade) {
    const upgrade = raw.findIndex((h, i) => i % 2 === 0 && h.toLowerCase() === 'upgrade');
    out.push('Connection', 'Upgrade');
    if (upgrade >= 0) out.push('Upgrade', raw[upgrade + 1] as string);
  }
  const client = o.clientAddress?.replace(/^::ffff:/, '') ?? 'unknown';
  out.push('X-Forwarded-For', forwardedFor === null ? client : `${forwardedFor}, ${client}`);
  out.push('X-Forwarded-Host', o.publicHost, 'X-Forwarded-Proto', 'http');
  if (o.prefix !== null) out.push('X-Forwarded-Prefix', o.prefix);
  return out;
}

const LOCAL_NAMES = new Set(['localhost', '127.0.0.1', '[::1]', '0.0.0.0', '[::]']);

/**
 * A redirect the target sends to itself (`http://localhost:3000/x`, or `/x` in the path form)
 * is pointed back through the proxy; anything else is left alone.
 */
export function rewriteLocation(location: string, r: RouteInfo): string {
  const prefix = r.prefix ?? '';
  if (location.startsWith('/') && !location.startsWith('//')) return `${prefix}${location}`;
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    return location;
  }
  const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || !LOCAL_NAMES.has(url.hostname) || port !== r.port) return location;
  return `//${r.publicHost}${prefix}${url.pathname}${url.search}${url.hash}`;
}

/** `rawHeaders` of the target's response → headers for the client. */
export function clientResponseHeaders(raw: readonly string[], r: RouteInfo): string[] {
  const named = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) {
    if ((raw[i] as string).toLowerCase() === 'connection') {
      for (const t of (raw[i + 1] as string).split(',')) named.add(t.trim().toLowerCase());
    }
  }
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || named.has(lower)) continue;
    out.push(name, lower === 'location' ? rewriteLocation(raw[i + 1] as string, r) : (raw[i + 1] as string));
  }
  return out;
}

export interface ProxyAgents {
  http: HttpAgent;
  https: HttpsAgent;
}

export function createProxyAgents(): ProxyAgents {
  return {
    http: new HttpAgent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64, scheduling: 'lifo' }),
    // The targets are this machine's own servers, usually with self-signed development certificates.
    https: new HttpsAgent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64, scheduling: 'lifo', rejectUnauthorized: false }),
  };
}

export interface ForwardOptions extends RouteInfo {
  target: ProxyTarget;
  /** Path and query on the target. */
  path: string;
  token: string | null;
  maxBodyBytes: number;
  agents: ProxyAgents;
  /** Told the final status of every request (for metrics). */
  onStatus: (status: number) => void;
}

function unreachable(target: ProxyTarget, e: NodeJS.ErrnoException): string {
  const what = `TCP port ${target.port} (${target.family === 6 ? `[${target.host}]` : target.host}:${target.port})`;
  if (e.code === 'ECONNREFUSED') return `${what} refused the connection: it is no longer listening`;
  if (e.code === 'ECONNRESET' || e.code === 'EPIPE') return `${what} closed the connection before answering`;
  return `${what} could not be reached: ${e.message}`;
}

/** Streams one request to the target and its response back. */
export function forwardRequest(req: IncomingMessage, res: ServerResponse, o: ForwardOptions): void {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > o.maxBodyBytes) {
    o.onStatus(413);
    sendError(req, res, 413, `the request body is larger than the limit of ${o.maxBodyBytes} bytes`, { headers: { Connection: 'close' } });
    req.resume();
    return;
  }
  const headers = upstreamRequestHeaders(req.rawHeaders, { ...o, clientAddress: req.socket.remoteAddress, upgrade: false });
  const options = {
    host: o.target.host,
    port: o.target.port,
    family: o.target.family,
    method: req.method,
    path: o.path,
    headers,
    setHost: false,
  };
  const upstream = o.target.tls
    ? httpsRequest({ ...options, agent: o.agents.https, servername: 'localhost', rejectUnauthorized: false })
    : httpRequest({ ...options, agent: o.agents.http });
  let settled = false;
  const settle = (status: number): void => {
    if (settled) return;
    settled = true;
    o.onStatus(status);
  };

  upstream.on('response', (ur) => {
    const status = ur.statusCode ?? 502;
    // Head, a small body and the end usually arrive together: one write instead of three.
    res.cork();
    setImmediate(() => res.uncork());
    res.writeHead(status, ur.statusMessage, clientResponseHeaders(ur.rawHeaders, o));
    if (/^text\/event-stream/i.test(ur.headers['content-type'] ?? '')) {
      res.flushHeaders();
      req.socket.setNoDelay(true);
    }
    ur.pipe(res);
    ur.once('error', () => res.destroy());
    ur.once('aborted', () => res.destroy());
    res.once('finish', () => settle(status));
  });
  upstream.on('error', (e: NodeJS.ErrnoException) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    settle(502);
    sendError(req, res, 502, unreachable(o.target, e));
  });
  res.once('close', () => {
    if (!res.writableFinished) upstream.destroy();
  });

  let received = 0;
  req.on('data', (chunk: Buffer) => {
    received += chunk.length;
    if (received > o.maxBodyBytes) {
      req.removeAllListeners('data');
      upstream.destroy();
      settle(413);
      if (!res.headersSent)
        sendError(req, res, 413, `the request body is larger than the limit of ${o.maxBodyBytes} bytes`, {
          headers: { Connection: 'close' },
        });
      else res.destroy();
      req.resume();
      return;
    }
    if (!upstream.write(chunk)) req.pause();
  });
  upstream.on('drain', () => req.resume());
  req.once('end', () => upstream.end());
  req.once('aborted', () => upstream.destroy());
}

export interface UpgradeOptions extends Omit<ForwardOptions, 'maxBodyBytes' | 'agents'> {
  /** Sockets piped together, so that shutdown can close them. */
  track: (socket: Duplex) => void;
}

/** Forwards an Upgrade request (WebSocket), then pipes the client and target sockets together. */
export function forwardUpgrade(req: IncomingMessage, client: Duplex, head: Buffer, o: UpgradeOptions): void {
  const headers = upstreamRequestHeaders(req.rawHeaders, { ...o, clientAddress: req.socket.remoteAddress, upgrade: true });
  const lines = [`${req.method ?? 'GET'} ${o.path} HTTP/1.1`];
  for (let i = 0; i < headers.length; i += 2) lines.push(`${headers[i]}: ${headers[i + 1]}`);
  const upstream: Socket = o.target.tls
    ? tlsConnect({
        host: o.target.host,
        port: o.target.port,
        servername: 'localhost',
        rejectUnauthorized: false,
        ALPNProtocols: ['http/1.1'],
      })
    : netConnect({ host: o.target.host, port: o.target.port, family: o.target.family });
  o.track(client);
  o.track(upstream);
  let connected = false;
  upstream.once(o.target.tls ? 'secureConnect' : 'connect', () => {
    connected = true;
    upstream.setNoDelay(true);
    if ('setNoDelay' in client && typeof client.setNoDelay === 'function') (client as Socket).setNoDelay(true);
    upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (head.length > 0) upstream.write(head);
    upstream.once('data', (first: Buffer) => {
      const m = /^HTTP\/\d(?:\.\d)? (\d{3})/.exec(first.subarray(0, 16).toString('latin1'));
      o.onStatus(m?.[1] ? Number(m[1]) : 502);
    });
    upstream.pipe(client);
    client.pipe(upstream);
  });
  upstream.once('error', (e: NodeJS.ErrnoException) => {
    if (connected) {
      client.destroy();
      return;
    }
    o.onStatus(502);
    rejectUpgrade(client, 502, unreachable(o.target, e));
  });
  upstream.once('close', () => client.destroy());
  client.once('error', () => upstream.destroy());
  client.once('close', () => upstream.destroy());
}
