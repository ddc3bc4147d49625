/**
 * One decision, for plain requests and WebSocket upgrades alike: where a request goes
 * (portwatch's own routes, or the proxy to a port) and whether it may. In order: exactly one
 * Host header, on the allow-list (DNS rebinding); portwatch's own routes answer only to
 * their own origin (a proxied app cannot read the API); then, with a token, the Bearer
 * header, a single-use ticket, `?token=`, or a server-side session bound to this Host and to
 * what it opens (see sessions.ts).
 *
 * The path form `/proxy/<PORT>/` shares the dashboard's host, so the proxy runs it in an
 * opaque origin (a CSP sandbox) whose requests carry no cookies. With a token it is signed in
 * by a capability in the path instead, `/proxy/<PORT>.<session id>/`, which opens that port
 * alone — the same thing the app behind it already is.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { proxyPathRoute, proxyPrefix, queryParam, splitRequestTarget, withoutParam, type RequestTarget } from './routing.js';
import { AUTH_PATH, bearerToken, classifyHost, cookieValues, parseHostHeader, secretsEqual, verifyTicket } from './security.js';
import { DASHBOARD_COOKIE, PROXY_COOKIE, type SessionStore, type TicketLedger } from './sessions.js';

export interface AuthContext {
  token: string | null;
  allowHosts: readonly string[];
  sessions: SessionStore;
  tickets: TicketLedger;
}

export interface AuthRequest {
  method: string | undefined;
  url: string | undefined;
  headers: IncomingHttpHeaders;
  rawHeaders: readonly string[];
  /** An Upgrade request: never redirected, never given a cookie. */
  upgrade: boolean;
}

export type Destination =
  /** portwatch's own routes; the target has `token=` removed. */
  | { kind: 'own'; target: RequestTarget }
  /** The proxy: `path` is what the target receives, `prefix` the path form's prefix (null on p<PORT>. hosts). */
  | { kind: 'proxy'; port: number; path: string; prefix: string | null };

export type AuthDecision =
  | { kind: 'allow'; to: Destination; setCookie: string | null }
  /** 303 after a sign-in; 308 (method kept) for the path form's missing slash. */
  | { kind: 'redirect'; status: 303 | 308; location: string; setCookie: string | null }
  | { kind: 'deny'; status: 400 | 401 | 403; message: string; hint?: string; headers?: Record<string, string> };

const deny = (status: 400 | 401 | 403, message: string, hint?: string, headers?: Record<string, string>): AuthDecision => ({
  kind: 'deny',
  status,
  message,
  ...(hint === undefined ? {} : { hint }),
  ...(headers === undefined ? {} : { headers }),
});

const NEEDS_TOKEN = deny(
  401,
  'this portwatch server needs a token.',
  'Open /?token=<token> once in this browser, or send "Authorization: Bearer <token>".',
  {
    'WWW-Authenticate': 'Bearer realm="portwatch"',
  },
);

function hostHeaderCount(raw: readonly string[]): number {
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) if ((raw[i] as string).toLowerCase() === 'host') n++;
  return n;
}

/** A top-level navigation (a link, the address bar, a redirect), as opposed to a script's request. */
function isNavigation(req: AuthRequest): boolean {
  if (req.upgrade || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
  const mode = req.headers['sec-fetch-mode'];
  if (mode !== undefined) return mode === 'navigate';
  return /\btext\/html\b/.test(req.headers.accept ?? '');
}

/**
 * Fetch Metadata: a request a page on another origin made (a proxied app on p3000.localhost,
 * or the path form's opaque origin) is refused on portwatch's own routes, except navigations
 * to the page and to /open/<PORT>. Clients that send no Sec-Fetch-Site (curl, Prometheus) pass.
 */
function ownRouteAllows(req: AuthRequest, path: string): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site === undefined || site === 'same-origin' || site === 'none') return true;
  return isNavigation(req) && (path === '/' || /^\/open\/\d{1,5}$/.test(path));
}

export function authorize(req: AuthRequest, ctx: AuthContext): AuthDecision {
  if (hostHeaderCount(req.rawHeaders) > 1) return deny(400, 'the request has more than one Host header');
  const host = classifyHost(req.headers.host, ctx.allowHosts);
  if (host.kind === 'rejected') {
    return deny(
      403,
      `${host.reason}.`,
      'portwatch answers only to localhost, IP addresses, p<PORT>.localhost and names given with --allow-host (protection against DNS rebinding).',
    );
  }
  const raw = splitRequestTarget(req.url);
  if (raw === null) return deny(400, 'the request target must be a path');
  const parsed = parseHostHeader(req.headers.host) as NonNullable<ReturnType<typeof parseHostHeader>>;
  const hostKey = `${parsed.hostname}:${parsed.port ?? ''}`;
  // Only portwatch's own token is taken out of the URL: an app's `?token=` is the app's.
  const queryToken = ctx.token === null ? null : queryParam(raw.search, 'token');
  const signsIn = queryToken !== null && secretsEqual(queryToken, ctx.token as string);
  const target = signsIn ? { path: raw.path, search: withoutParam(raw.search, 'token') } : raw;

  let to: Destination;
  let capability: string | null = null;
  if (host.kind === 'proxy') {
    to = { kind: 'proxy', port: host.port, path: `${target.path}${target.search}`, prefix: null };
  } else {
    const route = proxyPathRoute(target.path);
    if (route?.kind === 'proxy') {
      capability = route.capability;
      to = { kind: 'proxy', port: route.port, path: `${route.rest}${target.search}`, prefix: proxyPrefix(route.port, capability) };
    } else if (route?.kind === 'add-slash' && !req.upgrade) {
      return { kind: 'redirect', status: 308, location: `${proxyPrefix(route.port, route.capability)}/${target.search}`, setCookie: null };
    } else {
      to = { kind: 'own', target };
    }
  }
  if (to.kind === 'own' && !ownRouteAllows(req, target.path)) {
    return deny(403, 'portwatch does not answer requests made by pages on other origins.', 'Open portwatch itself in a tab of its own.');
  }
  if (ctx.token === null) return { kind: 'allow', to, setCookie: null };
  const token = ctx.token;

  const bearer = bearerToken(req.headers.authorization);
  if (bearer !== null) {
    return secretsEqual(bearer, token)
      ? { kind: 'allow', to, setCookie: null }
      : deny(401, 'wrong token.', undefined, { 'WWW-Authenticate': 'Bearer realm="portwatch", error="invalid_token"' });
  }

  if (host.kind === 'proxy' && target.path === AUTH_PATH && !req.upgrade) {
    const ticket = verifyTicket(token, queryParam(target.search, 'ticket') ?? '', host.hostname);
    if (ticket === null || !ctx.tickets.claim(ticket.nonce, ticket.expires)) {
      return deny(401, 'this sign-in link is not valid (any more).', 'Open the port again from the portwatch page.');
    }
    const id = ctx.sessions.create(hostKey, { port: host.port });
    return { kind: 'redirect', status: 303, location: '/', setCookie: ctx.sessions.cookie(PROXY_COOKIE, id) };
  }

  if (signsIn) {
    // Only a browser's navigation gets a session; a script or curl with ?token= is let through as is.
    if (!isNavigation(req)) return { kind: 'allow', to, setCookie: null };
    const id = ctx.sessions.create(hostKey, host.kind === 'proxy' ? { port: host.port } : 'dashboard');
    const cookie = ctx.sessions.cookie(host.kind === 'proxy' ? PROXY_COOKIE : DASHBOARD_COOKIE, id);
    return { kind: 'redirect', status: 303, location: `${raw.path}${target.search}`, setCookie: cookie };
  }

  if (host.kind === 'proxy') {
    return ctx.sessions.check(cookieValues(req.headers.cookie, PROXY_COOKIE), hostKey, { port: host.port })
      ? { kind: 'allow', to, setCookie: null }
      : NEEDS_TOKEN;
  }
  const dashboard = ctx.sessions.check(cookieValues(req.headers.cookie, DASHBOARD_COOKIE), hostKey, 'dashboard');
  if (to.kind === 'proxy') {
    if (capability !== null && ctx.sessions.check([capability], hostKey, { port: to.port })) return { kind: 'allow', to, setCookie: null };
    if (dashboard && isNavigation(req)) {
      // The browser is signed in here: give this port a capability of its own (see above).
      const id = ctx.sessions.create(hostKey, { port: to.port });
      return { kind: 'redirect', status: 303, location: `${proxyPrefix(to.port, id)}${to.path}`, setCookie: null };
    }
    return NEEDS_TOKEN;
  }
  return dashboard ? { kind: 'allow', to, setCookie: null } : NEEDS_TOKEN;
}
