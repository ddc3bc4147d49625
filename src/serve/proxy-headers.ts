/**
 * The proxy's header rewriting, pure: what goes to the target, what comes back to the
 * client, and the checks that keep an upstream's bytes from ever making Node throw.
 */
import { validateHeaderName, validateHeaderValue } from 'node:http';
import { queryParam, withoutParam } from './routing.js';
import { COOKIE_PREFIX, bearerToken, secretsEqual } from './security.js';

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

/**
 * Given to every page served through the path form (/proxy/<PORT>/, which shares the
 * dashboard's origin): without allow-same-origin the page runs in an opaque origin, so it
 * can neither read portwatch's API nor register a service worker over the dashboard.
 */
export const SANDBOX_CSP =
  'sandbox allow-scripts allow-forms allow-popups allow-popups-to-escape-sandbox allow-modals allow-downloads allow-presentation';

export interface RouteInfo {
  /** The port proxied to. */
  port: number;
  /** `/proxy/<port>` for the path form; null for p<port>.localhost. */
  prefix: string | null;
  /** The Host the client used (kept, so the target builds links that come back through the proxy). */
  publicHost: string;
}

export interface UpstreamHeaderOptions extends RouteInfo {
  /** portwatch's token: its Bearer header is not passed on. */
  token: string | null;
  clientAddress: string | undefined;
  upgrade: boolean;
  /** This proxy's `Via` entry (e.g. `1.1 portwatch-1a2b`), appended to the client's. */
  via?: string;
}

/** The names of the Connection header's options: hop-by-hop too. */
function connectionOptions(raw: readonly string[]): Set<string> {
  const named = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) {
    if ((raw[i] as string).toLowerCase() === 'connection') {
      for (const t of (raw[i + 1] as string).split(',')) named.add(t.trim().toLowerCase());
    }
  }
  return named;
}

const OWN_COOKIE = new RegExp(`^(?:__host-|__secure-)?${COOKIE_PREFIX}`, 'i');

/**
 * portwatch's own cookies (portwatch_session, portwatch_proxy_session, any future
 * portwatch_*), matched the lenient way a target's cookie parser might: case-insensitive,
 * with surrounding white space, behind a __Host-/__Secure- prefix.
 */
export function isPortwatchCookieName(name: string): boolean {
  return OWN_COOKIE.test(name.trim());
}

/** A Cookie header without portwatch's cookies; null when nothing is left. */
export function withoutPortwatchCookies(header: string): string | null {
  const kept = header
    .split(';')
    .map((c) => c.trim())
    // A target that also splits on ',' (RFC 2965 style) must not find one either.
    .filter((c) => c !== '' && !c.split(',').some((part) => isPortwatchCookieName(part.split('=')[0] as string)));
  return kept.length === 0 ? null : kept.join('; ');
}

/** True for a Set-Cookie that would set or clear one of portwatch's cookies (a nameless `portwatch_x` too). */
function setsPortwatchCookie(setCookie: string): boolean {
  const pair = setCookie.split(';')[0] as string;
  return isPortwatchCookieName(pair.split('=')[0] as string);
}

/** `path?query` without portwatch's own `token` parameter; the app's other parameters stay byte for byte. */
export function withoutToken(path: string, token: string | null): string {
  const q = path.indexOf('?');
  if (token === null || q < 0) return path;
  const value = queryParam(path.slice(q), 'token');
  if (value === null || !secretsEqual(value, token)) return path;
  return `${path.slice(0, q)}${withoutParam(path.slice(q), 'token')}`;
}

/** Header pairs Node would refuse to send (it throws on them); they are dropped, never passed. */
export function sendableHeaders(raw: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    try {
      validateHeaderName(name);
      validateHeaderValue(name, value);
    } catch {
      continue;
    }
    out.push(name, value);
  }
  return out;
}

/** What Node's writeHead accepts in a reason phrase (anything else makes it throw). */
const REASON = /^[\t\x20-\x7e\x80-\xff]*$/;

/** A final response portwatch can pass on: a status of 200–599 (1xx are not final) and a reason Node can write. */
export function isValidFinalHead(status: number | undefined, reason: string | undefined): boolean {
  return status !== undefined && Number.isInteger(status) && status >= 200 && status <= 599 && REASON.test(reason ?? '');
}

/** A reason phrase Node can write (for 101, which is checked apart). */
export function isValidReason(reason: string | undefined): boolean {
  return REASON.test(reason ?? '');
}

/** True when one of the request's `Via` entries names `receivedBy` (this proxy has seen the request before). */
export function viaIncludes(raw: readonly string[], receivedBy: string): boolean {
  const wanted = receivedBy.toLowerCase();
  for (let i = 0; i < raw.length; i += 2) {
    if ((raw[i] as string).toLowerCase() !== 'via') continue;
    for (const entry of (raw[i + 1] as string).split(',')) {
      // `1.1 portwatch-abc (comment)`: the second word is who received it.
      if (entry.trim().split(/\s+/)[1]?.toLowerCase() === wanted) return true;
    }
  }
  return false;
}

/** `rawHeaders` of a client request → `rawHeaders` for the target. */
export function upstreamRequestHeaders(raw: readonly string[], o: UpstreamHeaderOptions): string[] {
  const named = connectionOptions(raw);
  const out: string[] = [];
  let forwardedFor: string | null = null;
  const via: string[] = [];
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
    if (lower === 'via' && o.via !== undefined) {
      via.push(value);
      continue;
    }
    if (lower === 'authorization' && o.token !== null) {
      const bearer = bearerToken(value);
      if (bearer !== null && secretsEqual(bearer, o.token)) continue;
    }
    if (lower === 'cookie') {
      const kept = withoutPortwatchCookies(value);
      if (kept === null) continue;
      value = kept;
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
  if (o.via !== undefined) out.push('Via', [...via, o.via].join(', '));
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

/**
 * `rawHeaders` of the target's response → headers for the client. Never passed: hop-by-hop
 * headers, Service-Worker-Allowed (a worker scoped over the dashboard), a Set-Cookie for one
 * of portwatch's cookies, and in the path form Clear-Site-Data (it would clear the
 * dashboard's origin); header values Node cannot write are dropped. The path form gets the
 * sandbox policy unless `sandbox` is false (a 101 is no document).
 */
export function clientResponseHeaders(raw: readonly string[], r: RouteInfo, options: { sandbox?: boolean } = {}): string[] {
  const named = connectionOptions(raw);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || named.has(lower) || lower === 'service-worker-allowed') continue;
    if (lower === 'set-cookie' && setsPortwatchCookie(value)) continue;
    if (lower === 'clear-site-data' && r.prefix !== null) continue;
    out.push(name, lower === 'location' ? rewriteLocation(value, r) : value);
  }
  if (r.prefix !== null && options.sandbox !== false) out.push('Content-Security-Policy', SANDBOX_CSP);
  return sendableHeaders(out);
}
