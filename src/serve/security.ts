/**
 * Who may talk to `portwatch serve`, as pure functions: the Host header allow-list (DNS
 * rebinding), the token (Bearer header or session cookie, compared in constant time), and
 * the short-lived tickets that carry a signed-in browser over to a p<PORT>.localhost host.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

export type HostMatch =
  /** The dashboard and API. */
  | { kind: 'local'; hostname: string }
  /** p<PORT>.localhost (or p<PORT>.<allowed name>): the proxy to PORT. */
  | { kind: 'proxy'; hostname: string; port: number }
  | { kind: 'rejected'; reason: string };

export interface ParsedHost {
  hostname: string;
  port: number | null;
}

/** `Host` header → lower-case name without a trailing dot (IPv6 without brackets) and port; null when malformed. */
export function parseHostHeader(header: string | undefined): ParsedHost | null {
  if (header === undefined) return null;
  const h = header.trim().toLowerCase();
  const m = /^(?:\[([0-9a-f:.]+)\]|([^:[\]\s/@]+))(?::(\d{1,5}))?$/.exec(h);
  if (!m) return null;
  const hostname = m[1] ?? (m[2] as string).replace(/\.$/, '');
  if (m[1] !== undefined && isIP(hostname) !== 6) return null;
  const port = m[3] === undefined ? null : Number(m[3]);
  if (port !== null && port > 65535) return null;
  if (hostname === '') return null;
  return { hostname, port };
}

const PROXY_LABEL = /^p([1-9]\d{0,4})\.(.+)$/;

/** Normalises names given with --allow-host: lower case, no trailing dot, no brackets. */
export function normalizeAllowedHost(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/\.$/, '')
    .replace(/^\[|\]$/g, '');
}

/**
 * Which part of portwatch a Host header addresses, or why it is refused. Allowed: localhost,
 * any IP literal (a DNS rebinding attack always arrives with the attacker's host name, never
 * with an IP), p<PORT>.localhost, and the --allow-host names (and p<PORT>. under them). The
 * port in the header is not checked: behind `docker run -p 8080:4040` it is 8080.
 */
export function classifyHost(header: string | undefined, allowHosts: readonly string[] = []): HostMatch {
  const parsed = parseHostHeader(header);
  if (parsed === null) {
    return { kind: 'rejected', reason: header === undefined ? 'the request has no Host header' : `malformed Host header '${header}'` };
  }
  const { hostname } = parsed;
  if (hostname === 'localhost' || isIP(hostname) !== 0 || allowHosts.includes(hostname)) return { kind: 'local', hostname };
  const m = PROXY_LABEL.exec(hostname);
  if (m?.[1] && m[2]) {
    const port = Number(m[1]);
    const parent = m[2];
    if (port <= 65535 && (parent === 'localhost' || (isIP(parent) === 0 && allowHosts.includes(parent)))) {
      return { kind: 'proxy', hostname, port };
    }
  }
  return { kind: 'rejected', reason: `Host '${hostname}' is not allowed` };
}

/** Loopback names a browser resolves by itself, where p<PORT>.localhost links work. */
export function isLocalhostName(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '::1' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/** Constant-time comparison of two secrets of any length (both are hashed first). */
export function secretsEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}

/** Every cookie portwatch sets starts with this: the proxy neither passes such cookies on nor lets a target set them. */
export const COOKIE_PREFIX = 'portwatch_';
/** The dashboard's session cookie. */
export const SESSION_COOKIE = 'portwatch_session';

/** The reserved path on a proxied host where a ticket is exchanged for a session cookie. */
export const AUTH_PATH = '/__portwatch/auth';

/** The token of `Authorization: Bearer <token>`, or null. */
export function bearerToken(authorization: string | undefined): string | null {
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? '');
  return m?.[1] ?? null;
}

/** RFC 6265 cookie-name (an RFC 9110 token) and cookie-value (no quotes, spaces, commas, semicolons, backslashes). */
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const COOKIE_VALUE = /^(?:"[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*"|[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*)$/;

/**
 * Every value of cookie `name` in a Cookie header, read strictly as RFC 6265 writes it
 * (`name=value` pairs separated by `; `): `portwatch_session =v` or `portwatch_session=a b`
 * is not that cookie. All values are returned because a page may add a same-named cookie
 * with another Path; the caller accepts the header only if one of them is valid.
 */
export function cookieValues(header: string | undefined, name: string): string[] {
  const out: string[] = [];
  for (const part of (header ?? '').split(';')) {
    const pair = part.replace(/^[ \t]+/, '').replace(/[ \t]+$/, '');
    const eq = pair.indexOf('=');
    if (eq <= 0 || pair.slice(0, eq) !== name || !COOKIE_NAME.test(name)) continue;
    const value = pair.slice(eq + 1);
    if (COOKIE_VALUE.test(value)) out.push(value.replace(/^"(.*)"$/, '$1'));
  }
  return out;
}

/**
 * A ticket lets a browser signed in on the dashboard host sign in on p<PORT>.localhost (a
 * different host, so it has no cookie there): `<expiry ms>.<nonce>.<mac>`, bound to that
 * host name, valid for `ttlMs`.
 */
export function createTicket(token: string, hostname: string, now = Date.now(), ttlMs = 60_000): string {
  const exp = now + ttlMs;
  const nonce = randomBytes(12).toString('base64url');
  return `${exp}.${nonce}.${ticketMac(token, hostname, exp, nonce)}`;
}

export interface VerifiedTicket {
  nonce: string;
  expires: number;
}

export function verifyTicket(token: string, ticket: string, hostname: string, now = Date.now()): VerifiedTicket | null {
  const m = /^(\d{1,16})\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{43})$/.exec(ticket);
  if (!m?.[1] || !m[2] || !m[3]) return null;
  const exp = Number(m[1]);
  if (!secretsEqual(m[3], ticketMac(token, hostname, exp, m[2])) || exp < now) return null;
  return { nonce: m[2], expires: exp };
}

function ticketMac(token: string, hostname: string, exp: number, nonce: string): string {
  return createHmac('sha256', token).update(`portwatch ticket v1|${hostname}|${exp}|${nonce}`).digest('base64url');
}
