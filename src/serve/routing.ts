/** Pure pieces of request routing: the request target, the token query parameter, /proxy/<PORT>/ and /open/<PORT>. */
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
  { kind: 'proxy'; port: number; rest: string } | { kind: 'add-slash'; port: number } | { kind: 'bad-port'; text: string };

/** `/proxy/3000/x` → port 3000, rest `/x`; `/proxy/3000` → add the slash; null when the path is not under /proxy/. */
export function proxyPathRoute(path: string): ProxyPathRoute | null {
  const m = /^\/proxy\/([^/]*)(\/.*)?$/.exec(path);
  if (!m) return null;
  const port = parseProxyPort(m[1] ?? '');
  if (port === null) return { kind: 'bad-port', text: m[1] ?? '' };
  return m[2] === undefined ? { kind: 'add-slash', port } : { kind: 'proxy', port, rest: m[2] };
}

/**
 * Where /open/<PORT> sends a browser: p<PORT>.localhost on the same port when the page was
 * opened on a loopback name (browsers resolve *.localhost themselves), else the path form,
 * which works on any name. Scheme-relative, so it keeps http or https.
 */
export function openLocation(host: ParsedHost, port: number): { url: string; subdomain: string | null } {
  if (isLocalhostName(host.hostname)) {
    const subdomain = `p${port}.localhost`;
    return { url: `//${subdomain}${host.port === null ? '' : `:${host.port}`}/`, subdomain };
  }
  return { url: `/proxy/${port}/`, subdomain: null };
}
