/**
 * Where the proxy (and the HTTP probe) connects for a port, as a pure decision: only to a
 * TCP port listening now on this machine, on the address it listens on (a wildcard means
 * the loopback address of that family), never to portwatch's own port, never to a socket
 * in another network namespace (it would be a different machine as far as we can reach).
 */
import type { Family, Listener } from '../listener.js';

export interface ProxyTarget {
  host: string;
  port: number;
  family: Family;
  /** Speak TLS to it (the probe found HTTPS). */
  tls: boolean;
}

export type ProxyResolution =
  { ok: true; target: ProxyTarget; listener: Listener } | { ok: false; status: 400 | 403 | 502; reason: string };

export interface ProxyContext {
  /** Ports portwatch itself serves on. */
  servePorts: ReadonlySet<number>;
  /** portwatch's own network namespace, or null when unknown (then not checked). */
  netns: string | null;
  /**
   * False when the watched namespace cannot be compared with ours (another user's
   * --netns-pid, unprivileged): a port number could then name the host's socket as well as
   * the namespace's, so nothing is proxied. Default true.
   */
  namespaceKnown?: boolean;
}

/** The address to connect to for a listener, or null when it cannot be reached (a link-local address without its zone). */
export function connectAddress(l: Pick<Listener, 'address' | 'family'>): string | null {
  if (l.address === '0.0.0.0') return '127.0.0.1';
  if (l.address === '::') return '::1';
  if (l.family === 6 && /^fe[89ab]/i.test(l.address)) return null;
  return l.address;
}

/** Preference among several sockets on one port: loopback first, IPv4 first. */
function rank(l: Listener): number {
  if (l.address === '127.0.0.1') return 0;
  if (l.address === '0.0.0.0') return 1;
  if (l.address === '::1') return 2;
  if (l.address === '::') return 3;
  if (l.family === 4 && l.address.startsWith('127.')) return 4;
  return l.family === 4 ? 5 : 6;
}

export function parseProxyPort(text: string): number | null {
  if (!/^[1-9]\d{0,4}$/.test(text)) return null;
  const n = Number(text);
  return n <= 65535 ? n : null;
}

/** Which listener a request for `port` goes to, or why none. */
export function resolveProxyTarget(
  port: number,
  listeners: readonly (Listener & { http?: string | null })[],
  ctx: ProxyContext,
): ProxyResolution {
  if (!Number.isInteger(port) || port < 1 || port > 65535) return { ok: false, status: 400, reason: `${port} is not a TCP port` };
  if (ctx.servePorts.has(port)) return { ok: false, status: 403, reason: `port ${port} is portwatch itself; it does not proxy to itself` };
  const onPort = listeners.filter((l) => l.protocol === 'tcp' && l.port === port);
  if (onPort.length === 0) return { ok: false, status: 502, reason: `nothing is listening on TCP port ${port}` };
  if (ctx.namespaceKnown === false) {
    return {
      ok: false,
      status: 502,
      reason: `TCP port ${port} listens in a network namespace portwatch cannot compare with its own (run as root to proxy into it)`,
    };
  }
  const here = onPort.filter((l) => ctx.netns === null || l.netns === null || l.netns === ctx.netns);
  if (here.length === 0) {
    return {
      ok: false,
      status: 502,
      reason: `TCP port ${port} listens in another network namespace (${onPort[0]?.netns}); the proxy only reaches its own`,
    };
  }
  const reachable = here.filter((l) => connectAddress(l) !== null).sort((a, b) => rank(a) - rank(b));
  const best = reachable[0];
  if (!best) return { ok: false, status: 502, reason: `TCP port ${port} listens only on a link-local address the proxy cannot reach` };
  const host = connectAddress(best) as string;
  return { ok: true, listener: best, target: { host, port, family: best.family, tls: best.http === 'https' } };
}
