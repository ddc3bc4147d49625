/**
 * Where `portwatch serve` listens: `--listen` text in, host and port out; and whether an
 * address only this machine can reach (loopback), which decides if a token is required.
 */
import { isIP } from 'node:net';
import { PortwatchError } from '../errors.js';

export const DEFAULT_SERVE_HOST = '127.0.0.1';
export const DEFAULT_SERVE_PORT = 4040;

export interface ListenAddress {
  host: string;
  /** 0 means any free port. */
  port: number;
}

function parseServePort(text: string, whole: string): number {
  const n = Number(text);
  if (!/^\d{1,5}$/.test(text) || n > 65535) {
    throw new PortwatchError('EUSAGE', `invalid --listen '${whole}': the port must be a number from 0 to 65535`);
  }
  return n;
}

/**
 * `4040`, `127.0.0.1:4040`, `[::1]:4040`, `localhost:4040`, `0.0.0.0` (port 4040),
 * `::1` (a bare IPv6 address, port 4040). Port 0 picks a free port.
 */
export function parseListenAddress(text: string): ListenAddress {
  const t = text.trim();
  const bad = (why: string): PortwatchError => new PortwatchError('EUSAGE', `invalid --listen '${text}': ${why}`);
  if (t === '') throw bad('use e.g. 127.0.0.1:4040, [::1]:4040 or 4040');
  if (/^\d+$/.test(t)) return { host: DEFAULT_SERVE_HOST, port: parseServePort(t, text) };
  if (t.startsWith('[')) {
    const m = /^\[([^\]]+)\](?::(\d*))?$/.exec(t);
    if (!m?.[1] || isIP(m[1]) !== 6) throw bad('use [IPv6]:PORT, e.g. [::1]:4040');
    if (m[2] === '') throw bad('the port is missing after the colon');
    return { host: m[1], port: m[2] === undefined ? DEFAULT_SERVE_PORT : parseServePort(m[2], text) };
  }
  if (isIP(t) === 6) return { host: t, port: DEFAULT_SERVE_PORT };
  const colon = t.lastIndexOf(':');
  const host = colon < 0 ? t : t.slice(0, colon);
  if (host === '') throw bad('the host is missing; use e.g. 0.0.0.0:4040 for every IPv4 address');
  if (t.indexOf(':') !== colon) throw bad('write an IPv6 address in brackets, e.g. [::1]:4040');
  if (isIP(host) === 0 && !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i.test(host)) {
    throw bad(`'${host}' is not an IP address or host name`);
  }
  // A lone word is more likely a mistyped port than a host name (which would then be refused for want of a token).
  if (colon < 0 && isIP(host) === 0 && host.toLowerCase() !== 'localhost')
    throw bad(`use HOST:PORT, [IPv6]:PORT or PORT (a host name needs its port, e.g. ${host}:${DEFAULT_SERVE_PORT})`);
  return { host, port: colon < 0 ? DEFAULT_SERVE_PORT : parseServePort(t.slice(colon + 1), text) };
}

/** True for addresses only this machine can reach: 127.0.0.0/8, ::1, ::ffff:127.x, `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === 'localhost.') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || /^::ffff:127\./.test(h) || /^(0+:){7}0*1$/.test(h);
  return false;
}

/** How a host goes into a URL: IPv6 in brackets. */
export function urlHost(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host;
}
