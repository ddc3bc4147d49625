import { describe, expect, it } from 'vitest';
import { authorize, type AuthContext, type AuthDecision, type AuthRequest } from '../../src/serve/auth.js';
import { createTicket } from '../../src/serve/security.js';
import { DASHBOARD_COOKIE, PROXY_COOKIE, SessionStore, TicketLedger } from '../../src/serve/sessions.js';

const TOKEN = 'the-token';

function ctx(token: string | null = TOKEN, allowHosts: string[] = []): AuthContext {
  return { token, allowHosts, sessions: new SessionStore(), tickets: new TicketLedger() };
}

function req(url: string, headers: Record<string, string> = {}, extra: Partial<AuthRequest> = {}): AuthRequest {
  const all = { host: 'localhost:4040', ...headers };
  return {
    method: 'GET',
    url,
    headers: all,
    rawHeaders: Object.entries(all).flat(),
    upgrade: false,
    ...extra,
  };
}

const browser = { 'sec-fetch-mode': 'navigate', 'sec-fetch-site': 'none', accept: 'text/html' };

function cookieOf(d: AuthDecision): string {
  if (d.kind !== 'redirect' && d.kind !== 'allow') throw new Error(`expected a cookie, got ${JSON.stringify(d)}`);
  return String(d.setCookie).split(';')[0] as string;
}

/** Signs a browser in on the dashboard with ?token= and returns its Cookie header. */
function signIn(c: AuthContext, host = 'localhost:4040'): string {
  const d = authorize(req(`/?token=${TOKEN}`, { ...browser, host }), c);
  expect(d).toMatchObject({ kind: 'redirect', location: '/' });
  return cookieOf(d);
}

describe('authorize: hosts and origins', () => {
  it('two Host headers are a bad request (RFC 9112), whatever they say', () => {
    const r = req('/api/listeners');
    const d = authorize({ ...r, rawHeaders: ['Host', 'localhost:4040', 'Host', 'evil.com'] }, ctx(null));
    expect(d).toMatchObject({ kind: 'deny', status: 400 });
  });

  it('a Host outside the allow-list is refused (DNS rebinding)', () => {
    expect(authorize(req('/', { host: 'evil.com' }), ctx(null))).toMatchObject({ kind: 'deny', status: 403 });
  });

  it("portwatch's own routes refuse requests made by pages on other origins, even without a token", () => {
    const c = ctx(null);
    for (const site of ['cross-site', 'same-site']) {
      for (const path of ['/api/listeners', '/api/events', '/metrics', '/healthz', '/assets/app.js']) {
        expect(authorize(req(path, { 'sec-fetch-site': site, 'sec-fetch-mode': 'cors' }), c), `${site} ${path}`).toMatchObject({
          kind: 'deny',
          status: 403,
        });
      }
    }
    // the page itself and /open/ may be reached by a link from anywhere
    expect(authorize(req('/', { ...browser, 'sec-fetch-site': 'cross-site' }), c)).toMatchObject({ kind: 'allow' });
    expect(authorize(req('/open/3000', { ...browser, 'sec-fetch-site': 'cross-site' }), c)).toMatchObject({ kind: 'allow' });
    // the page's own requests, and clients that send no fetch metadata
    expect(authorize(req('/api/listeners', { 'sec-fetch-site': 'same-origin' }), c)).toMatchObject({ kind: 'allow' });
    expect(authorize(req('/metrics'), c)).toMatchObject({ kind: 'allow' });
  });

  it('proxied routes are not subject to the own-origin rule (the app talks to itself)', () => {
    const d = authorize(req('/x', { host: 'p3000.localhost:4040', 'sec-fetch-site': 'cross-site' }), ctx(null));
    expect(d).toEqual({ kind: 'allow', setCookie: null, to: { kind: 'proxy', port: 3000, path: '/x', prefix: null } });
  });
});

describe('authorize: sessions', () => {
  it('?token= in a browser gives a session cookie for this host and drops the token from the URL', () => {
    const c = ctx();
    const d = authorize(req(`/?token=${TOKEN}&x=1`, browser), c);
    expect(d).toMatchObject({ kind: 'redirect', location: '/?x=1' });
    const cookie = cookieOf(d);
    expect(cookie).toMatch(new RegExp(`^${DASHBOARD_COOKIE}=[A-Za-z0-9_-]{43}$`));
    expect(cookie).not.toContain(TOKEN);
    expect(authorize(req('/api/listeners', { cookie }), c)).toMatchObject({ kind: 'allow' });
    // a program's ?token= is answered, without creating a session
    expect(authorize(req(`/api/listeners?token=${TOKEN}`), c)).toMatchObject({ kind: 'allow', setCookie: null });
    expect(c.sessions.size).toBe(1);
  });

  it('a dashboard session works only on the host it was issued for, and only for the dashboard', () => {
    const c = ctx();
    const cookie = signIn(c);
    expect(authorize(req('/api/listeners', { cookie, host: '127.0.0.1:4040' }), c)).toMatchObject({ kind: 'deny', status: 401 });
    expect(authorize(req('/', { cookie, host: 'p3000.localhost:4040' }), c)).toMatchObject({ kind: 'deny', status: 401 });
    const asProxyCookie = cookie.replace(DASHBOARD_COOKIE, PROXY_COOKIE);
    expect(authorize(req('/', { cookie: asProxyCookie, host: 'p3000.localhost:4040' }), c)).toMatchObject({ kind: 'deny', status: 401 });
  });

  it('the Cookie header is read strictly: a space before = is not the cookie', () => {
    const c = ctx();
    const [, id] = signIn(c).split('=') as [string, string];
    expect(authorize(req('/api/listeners', { cookie: `${DASHBOARD_COOKIE} =${id}` }), c)).toMatchObject({ kind: 'deny', status: 401 });
    expect(authorize(req('/api/listeners', { cookie: `a=1;${DASHBOARD_COOKIE}=${id}` }), c)).toMatchObject({ kind: 'allow' });
  });

  it('a ticket signs in on its p<PORT> host once; that session opens that port alone', () => {
    const c = ctx();
    const ticket = createTicket(TOKEN, 'p3000.localhost');
    const url = `/__portwatch/auth?ticket=${ticket}`;
    expect(authorize(req(url, { host: 'p3001.localhost:4040' }), c)).toMatchObject({ kind: 'deny', status: 401 });
    const d = authorize(req(url, { host: 'p3000.localhost:4040' }), c);
    expect(d).toMatchObject({ kind: 'redirect', location: '/' });
    const cookie = cookieOf(d);
    expect(cookie.startsWith(`${PROXY_COOKIE}=`)).toBe(true);
    expect(authorize(req(url, { host: 'p3000.localhost:4040' }), c)).toMatchObject({ kind: 'deny', status: 401 }); // single use
    expect(authorize(req('/app', { cookie, host: 'p3000.localhost:4040' }), c)).toMatchObject({ kind: 'allow', to: { port: 3000 } });
    // what the app on p3000.localhost:3000 is sent (cookies ignore ports) opens nothing else:
    expect(authorize(req('/', { cookie, host: 'p3001.localhost:4040' }), c)).toMatchObject({ kind: 'deny', status: 401 });
    const asDashboard = cookie.replace(PROXY_COOKIE, DASHBOARD_COOKIE);
    expect(authorize(req('/api/listeners', { cookie: asDashboard }), c)).toMatchObject({ kind: 'deny', status: 401 });
    expect(authorize(req('/proxy/3001/', { cookie: asDashboard }), c)).toMatchObject({ kind: 'deny', status: 401 });
  });

  it('the path form: a signed-in navigation gets a capability for that port; the capability opens nothing else', () => {
    const c = ctx();
    const cookie = signIn(c);
    const d = authorize(req('/proxy/3000/a?b=1', { ...browser, cookie }), c);
    expect(d.kind).toBe('redirect');
    const location = (d as { location: string }).location;
    const m = /^\/proxy\/3000\.([A-Za-z0-9_-]{43})\/a\?b=1$/.exec(location);
    expect(m, location).not.toBeNull();
    const cap = m?.[1] as string;
    // the sandboxed app's own requests carry no cookie, only the path
    expect(authorize(req(location, { 'sec-fetch-site': 'cross-site' }), c)).toEqual({
      kind: 'allow',
      setCookie: null,
      to: { kind: 'proxy', port: 3000, path: '/a?b=1', prefix: `/proxy/3000.${cap}` },
    });
    expect(authorize(req(`/proxy/3001.${cap}/`), c)).toMatchObject({ kind: 'deny', status: 401 });
    expect(authorize(req(`/proxy/3000.${cap}/`, { host: '127.0.0.1:4040' }), c)).toMatchObject({ kind: 'deny', status: 401 });
    expect(authorize(req('/api/listeners', { cookie: `${DASHBOARD_COOKIE}=${cap}` }), c)).toMatchObject({ kind: 'deny', status: 401 });
    // without the cookie nothing is given
    expect(authorize(req('/proxy/3000/', browser), c)).toMatchObject({ kind: 'deny', status: 401 });
  });

  it('the Bearer token opens everything; a wrong one nothing', () => {
    const c = ctx();
    expect(authorize(req('/api/listeners', { authorization: `Bearer ${TOKEN}` }), c)).toMatchObject({ kind: 'allow' });
    expect(authorize(req('/proxy/3000/', { authorization: `Bearer ${TOKEN}` }), c)).toMatchObject({ kind: 'allow', to: { port: 3000 } });
    expect(authorize(req('/api/listeners', { authorization: 'Bearer nope' }), c)).toMatchObject({ kind: 'deny', status: 401 });
  });

  it("only portwatch's own token is taken out of a URL; an app's ?token= reaches the app", () => {
    const c = ctx();
    const ticket = authorize(
      req(`/__portwatch/auth?ticket=${createTicket(TOKEN, 'p3000.localhost')}`, { host: 'p3000.localhost:4040' }),
      c,
    );
    const cookie = cookieOf(ticket);
    expect(authorize(req('/cb?token=app-secret&x=1', { cookie, host: 'p3000.localhost:4040' }), c)).toEqual({
      kind: 'allow',
      setCookie: null,
      to: { kind: 'proxy', port: 3000, path: '/cb?token=app-secret&x=1', prefix: null },
    });
    expect(authorize(req('/x?token=app', { host: 'p3000.localhost:4040' }), ctx(null))).toMatchObject({
      to: { path: '/x?token=app' },
    });
  });

  it('the path form without its slash is sent to it with 308, keeping the method and query', () => {
    expect(authorize(req('/proxy/3000?q=1', {}, { method: 'POST' }), ctx(null))).toEqual({
      kind: 'redirect',
      status: 308,
      location: '/proxy/3000/?q=1',
      setCookie: null,
    });
  });

  it('upgrades are never redirected nor given a session', () => {
    const c = ctx();
    const d = authorize(req(`/ws?token=${TOKEN}`, { host: 'p3000.localhost:4040' }, { upgrade: true }), c);
    expect(d).toEqual({ kind: 'allow', setCookie: null, to: { kind: 'proxy', port: 3000, path: '/ws', prefix: null } });
    expect(c.sessions.size).toBe(0);
  });
});
