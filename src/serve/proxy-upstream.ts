/**
 * What the HTTP and the Upgrade paths of the proxy share: the pools of connections, the
 * timeouts (nginx's defaults), this process's `Via` name for loop detection, the connect
 * deadline, and the words for a target that could not be reached.
 */
import { randomBytes } from 'node:crypto';
import { Agent as HttpAgent, type ClientRequest } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Socket } from 'node:net';
import type { ProxyTarget } from './proxy-target.js';

/** As nginx's proxy_connect_timeout, proxy_read_timeout and client_body_timeout. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 60_000;
export const DEFAULT_READ_TIMEOUT_MS = 60_000;
export const DEFAULT_CLIENT_TIMEOUT_MS = 60_000;
/**
 * An upgraded (WebSocket) connection with no byte either way for this long is closed.
 * Dev servers' hot-reload sockets ping far more often (Vite every 30 s, socket.io 25 s,
 * webpack-dev-server 1 s), so 10 minutes only ever ends tunnels nobody uses any more, and
 * stays out of the way of an app that is quiet between edits.
 */
export const DEFAULT_UPGRADE_IDLE_TIMEOUT_MS = 10 * 60_000;
/** After one side of a tunnel has closed, how long the other gets to finish (a WebSocket close handshake). */
export const HALF_CLOSED_GRACE_MS = 5_000;

/** Who this proxy is in `Via` (RFC 9110 §7.6.3): random per process, so a request that comes back is known. */
export const VIA_NAME = `portwatch-${randomBytes(6).toString('hex')}`;

export const INVALID_RESPONSE = 'upstream sent an invalid response';

export function loopMessage(port: number): string {
  return `proxy loop: this request already passed through this portwatch (TCP port ${port} forwards back to portwatch)`;
}

export function unreachable(target: ProxyTarget, e: NodeJS.ErrnoException): string {
  const what = `TCP port ${target.port} (${target.family === 6 ? `[${target.host}]` : target.host}:${target.port})`;
  // llhttp's codes: the target answered, but not in HTTP/1.1 Node can read.
  if (e.code?.startsWith('HPE_')) return `${INVALID_RESPONSE}: ${what} answered with bytes that are not valid HTTP (${e.message})`;
  if (e.code === 'ECONNREFUSED') return `${what} refused the connection: it is no longer listening`;
  if (e.code === 'ECONNRESET' || e.code === 'EPIPE') return `${what} closed the connection before answering`;
  return `${what} could not be reached: ${e.message}`;
}

export function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

/**
 * Calls `onTimeout` unless the request has a connected socket within `ms`: this covers the
 * wait for a free socket in the agent, the TCP connect and the TLS handshake. Returns a
 * function that cancels it.
 */
export function connectDeadline(upstream: ClientRequest, tls: boolean, ms: number, onTimeout: () => void): () => void {
  const timer = setTimeout(onTimeout, ms);
  timer.unref();
  const cancel = (): void => clearTimeout(timer);
  upstream.once('socket', (socket: Socket) => {
    // A new socket is still connecting when handed over; a kept-alive one is ready.
    if (socket.connecting) socket.once(tls ? 'secureConnect' : 'connect', cancel);
    else cancel();
  });
  upstream.once('close', cancel);
  return cancel;
}

export interface ProxyAgents {
  http: HttpAgent;
  https: HttpsAgent;
}

/**
 * Keep-alive pools toward the targets. No cap on sockets per target (as nginx): each one
 * serves one client request in flight, so client connections bound them, and a cap only
 * made requests queue behind slow ones with no way out.
 */
export function createProxyAgents(): ProxyAgents {
  return {
    http: new HttpAgent({ keepAlive: true, maxFreeSockets: 64, scheduling: 'lifo' }),
    // The targets are this machine's own servers, usually with self-signed development certificates.
    https: new HttpsAgent({ keepAlive: true, maxFreeSockets: 64, scheduling: 'lifo', rejectUnauthorized: false }),
  };
}

export interface ProxyTimeouts {
  /** Longest wait for a connection to the target: a free socket, TCP, TLS (default 60 s; then 504). */
  connectTimeoutMs?: number;
  /** Longest time no byte moves on the connection to the target (default 60 s): 504 before its response head, then a cut. */
  readTimeoutMs?: number;
  /** Longest pause inside a request body the client is sending (default 60 s; then 408). */
  clientTimeoutMs?: number;
}

/** `fn`, with whatever it throws handed to `onError`: nothing a client or a target sends may throw out of a socket callback and end serve. */
export function guarded<A extends unknown[]>(fn: (...args: A) => void, onError: (e: unknown) => void): (...args: A) => void {
  return (...args) => {
    try {
      fn(...args);
    } catch (e) {
      onError(e);
    }
  };
}
