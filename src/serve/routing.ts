/** Pure pieces of request routing: the request target, the token query parameter, /proxy/<PORT>/ and /open/<PORT>. */
import { isIP } from 'node:net';
import { parseProxyPort } from './proxy-target.js';
import { isLocalhostName, type ParsedHost } from './security.js';

export interface RequestTarget {
  /** Path, starting with `/`, as sent (not decoded). */
  path: string;
  /** `?…` as sent, or ''. */
  search: string;
}

/** Origin-form only (`/path?query`); absolute-form and `*` are not for us. */
export function splitRequestTarget(url: string | undefined): RequestTarget | null {
  if (url === undefined || !url.startsWith('/') || url.startsWith('//')) return null;
  const q = url.indexOf('?');
  return q < 0 ? { path: url, search: '' } : { path: url.slice(0, q), search: url.slice(q) };
}

function decodeParam(text: string): string | null {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}

/** The value of query parameter `name` (first occurrence), or null. */
export function queryParam(search: string, name: string): string | null {
  for (const part of search.replace(/^\?/, '').split('&')) {
    const eq = part.indexOf('=');
    if (decodeParam(eq < 0 ? part : part.slice(0, eq)) === name) return eq < 0 ? '' : decodeParam(part.slice(eq + 1));
  }
  return null;
}

/** `search` without every `name=…` parameter; the other parameters are kept byte for byte. */
export function withoutParam(search: string, name: string): string {
  const kept = search
    .replace(/^\?/, '')
    .split('&')
    .filter((part) => part !== '' && decodeParam(part.split('=')[0] as string) !== name);
  return kept.length === 0 ? '' : `?${kept.join('&')}`;
}

export type ProxyPathRoute =
  /** `capability`: the session id in `/proxy/<PORT>.<id>/`, the path form's sign-in (see auth.ts). */
  | { kind: 'proxy'; port: number; rest: string; capability: string | null }
  | { kind: 'add-slash'; port: number; capability: string | null }
  | { kind: 'bad-port'; text: string };

/**
 * `/proxy/3000/x` → port 3000, rest `/x`; `/proxy/3000.<id>/x` → the same with a capability;
 * `/proxy/3000` → add the slash; null when the path is not under /proxy/.
 */
export function proxyPathRoute(path: string): ProxyPathRoute | null {
  const m = /^\/proxy\/([^/]*)(\/.*)?$/.exec(path);
  if (!m) return null;
  const segment = m[1] ?? '';
  const cap = /^([^.]*)\.([A-Za-z0-9_-]{43})$/.exec(segment);
  const port = parseProxyPort(cap ? (cap[1] as string) : segment);
  if (port === null) return { kind: 'bad-port', text: segment };
  const capability = cap ? (cap[2] as string) : null;
  return m[2] === undefined ? { kind: 'add-slash', port, capability } : { kind: 'proxy', port, rest: m[2], capability };
}

/** The path prefix of the path form: `/proxy/<PORT>` or `/proxy/<PORT>.<capability>`. */
export function proxyPrefix(port: number, capability: string | null): string {
  return capability === null ? `/proxy/${port}` : `/proxy/${port}.${capability}`;
}

/**
 * Where /open/<PORT> sends a browser: a host of its own for each port, so that apps never
 * share the dashboard's origin — p<PORT>.localhost when the page was opened on a loopback
 * name (browsers resolve *.localhost themselves), p<PORT>.NAME under an --allow-host NAME
 * (which needs wildcard DNS for *.NAME). On an IP address there is no name to put a port
 * under: the path form, which the proxy sandboxes into an opaque origin. Scheme-relative, so
 * it keeps http or https.
 */
export function openLocation(
  host: ParsedHost,
  port: number,
  allowHosts: readonly string[] = [],
): { url: string; subdomain: string | null } {
  const parent = isLocalhostName(host.hostname)
    ? 'localhost'
    : allowHosts.includes(host.hostname) && isIP(host.hostname) === 0
      ? host.hostname
      : null;
  if (parent !== null) {
    const subdomain = `p${port}.${parent}`;
    return { url: `//${subdomain}${host.port === null ? '' : `:${host.port}`}/`, subdomain };
  }
  return { url: `/proxy/${port}/`, subdomain: null };
}
