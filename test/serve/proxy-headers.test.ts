import { describe, expect, it } from 'vitest';
import {
  SANDBOX_CSP,
  clientResponseHeaders,
  isPortwatchCookieName,
  isValidFinalHead,
  sendableHeaders,
  upstreamRequestHeaders,
  viaIncludes,
  withoutPortwatchCookies,
  withoutToken,
} from '../../src/serve/proxy-headers.js';

const subdomain = { port: 3000, prefix: null, publicHost: 'p3000.localhost:4040' };
const pathForm = { port: 3000, prefix: '/proxy/3000', publicHost: 'localhost:4040' };

describe("portwatch's cookies never reach a target", () => {
  it.each([
    ['portwatch_session=v', null],
    ['portwatch_proxy_session=v; a=1', 'a=1'],
    ['a=1; portwatch_session=v; b=2', 'a=1; b=2'],
    [' portwatch_session =v; b=2', 'b=2'],
    ['a=1;\tportwatch_session\t=v', 'a=1'],
    ['Portwatch_Session=v; b=2', 'b=2'],
    ['__Host-portwatch_session=v; b=2', 'b=2'],
    ['portwatch_session; b=2', 'b=2'],
    ['a=1, portwatch_session=v; b=2', 'b=2'],
    ['app_portwatch_session=v', 'app_portwatch_session=v'],
    ['a=portwatch_session', 'a=portwatch_session'],
  ])('Cookie: %j → %j', (header, expected) => {
    expect(withoutPortwatchCookies(header)).toBe(expected);
  });

  it('in the request headers, with several Cookie headers', () => {
    const out = upstreamRequestHeaders(['Cookie', 'portwatch_session=x', 'Cookie', 'a=1; portwatch_proxy_session=y'], {
      ...subdomain,
      token: null,
      clientAddress: '127.0.0.1',
      upgrade: false,
    });
    expect(out.slice(0, 2)).toEqual(['Cookie', 'a=1']);
    expect(out.filter((h) => /portwatch_/.test(h))).toEqual([]);
  });

  it('knows the names', () => {
    expect(isPortwatchCookieName('portwatch_session')).toBe(true);
    expect(isPortwatchCookieName('  portwatch_anything ')).toBe(true);
    expect(isPortwatchCookieName('portwatch')).toBe(false);
    expect(isPortwatchCookieName('session')).toBe(false);
  });
});

describe('clientResponseHeaders: what a target may not send through', () => {
  it('drops Service-Worker-Allowed and Set-Cookie for portwatch_* names, keeps the other cookies', () => {
    const out = clientResponseHeaders(
      [
        'Service-Worker-Allowed',
        '/',
        'Set-Cookie',
        'portwatch_session=stolen; Path=/',
        'Set-Cookie',
        ' portwatch_proxy_session =x; Path=/',
        'Set-Cookie',
        'portwatch_session=; Max-Age=0',
        'Set-Cookie',
        'portwatch_session',
        'Set-Cookie',
        'app=1; Path=/',
        'Set-Cookie',
        'other=portwatch_session',
      ],
      subdomain,
    );
    expect(out).toEqual(['Set-Cookie', 'app=1; Path=/', 'Set-Cookie', 'other=portwatch_session']);
  });

  it('sandboxes the path form (keeping the target’s own policy as a second header), not the subdomain form', () => {
    const raw = ['Content-Type', 'text/html', 'Content-Security-Policy', "default-src 'self'"];
    expect(clientResponseHeaders(raw, pathForm)).toEqual([...raw, 'Content-Security-Policy', SANDBOX_CSP]);
    expect(clientResponseHeaders(raw, subdomain)).toEqual(raw);
    expect(clientResponseHeaders(raw, pathForm, { sandbox: false })).toEqual(raw);
    expect(SANDBOX_CSP).toMatch(/^sandbox /);
    expect(SANDBOX_CSP).not.toContain('allow-same-origin');
  });

  it('drops Clear-Site-Data in the path form (it would clear the dashboard’s origin), keeps it on a subdomain', () => {
    const raw = ['Clear-Site-Data', '"cookies"'];
    expect(clientResponseHeaders(raw, pathForm)).toEqual(['Content-Security-Policy', SANDBOX_CSP]);
    expect(clientResponseHeaders(raw, subdomain)).toEqual(raw);
  });

  it('drops header values and names Node would refuse to write', () => {
    expect(clientResponseHeaders(['X-A', 'a\x01b', 'X-B', 'a\x7fb', 'X C', 'v', 'X-D', 'é ok', 'X-E', 'fine'], subdomain)).toEqual([
      'X-D',
      'é ok',
      'X-E',
      'fine',
    ]);
    expect(sendableHeaders(['X-A', 'a\r\nInjected: 1', 'X-B', 'ok'])).toEqual(['X-B', 'ok']);
  });
});

describe('isValidFinalHead', () => {
  it.each([
    [200, 'OK', true],
    [599, '', true],
    [404, 'Not Found\t', true],
    [200, 'été', true],
    [101, 'Switching Protocols', false],
    [100, 'Continue', false],
    [199, 'x', false],
    [0, 'OK', false],
    [99, 'OK', false],
    [600, 'OK', false],
    [999, 'OK', false],
    [200, 'O\x01K', false],
    [200, 'O\x7fK', false],
    [200, 'O\nK', false],
    [undefined, 'OK', false],
  ])('%s %j → %s', (status, reason, ok) => {
    expect(isValidFinalHead(status, reason)).toBe(ok);
  });
});

describe('Via: loop detection', () => {
  const base = { ...subdomain, token: null, clientAddress: '127.0.0.1', upgrade: false };
  it('adds this proxy to Via, after the entries the request already had', () => {
    expect(upstreamRequestHeaders(['Accept', '*/*'], { ...base, via: '1.1 portwatch-abc' })).toContain('1.1 portwatch-abc');
    const out = upstreamRequestHeaders(['Via', '1.0 fred', 'Via', '1.1 nginx'], { ...base, via: '1.1 portwatch-abc' });
    expect(out.filter((h, i) => i % 2 === 0 && h === 'Via')).toHaveLength(1);
    expect(out[out.indexOf('Via') + 1]).toBe('1.0 fred, 1.1 nginx, 1.1 portwatch-abc');
  });

  it('finds its own name in any Via entry, and only its own', () => {
    expect(viaIncludes(['Via', '1.1 portwatch-abc'], 'portwatch-abc')).toBe(true);
    expect(viaIncludes(['via', '1.0 fred, HTTP/1.1 Portwatch-ABC (comment)'], 'portwatch-abc')).toBe(true);
    expect(viaIncludes(['Via', '1.1 portwatch-abcd', 'X-Via', '1.1 portwatch-abc'], 'portwatch-abc')).toBe(false);
    expect(viaIncludes(['Via', 'portwatch-abc'], 'portwatch-abc')).toBe(false);
  });
});

describe('withoutToken', () => {
  it.each([
    ['/hmr?token=secret', 'secret', '/hmr'],
    ['/hmr?a=1&token=secret&b=2', 'secret', '/hmr?a=1&b=2'],
    ['/hmr?token=app', 'secret', '/hmr?token=app'],
    ['/hmr?token=secret', null, '/hmr?token=secret'],
    ['/hmr', 'secret', '/hmr'],
    ['/hmr?token=se%63ret', 'secret', '/hmr'],
  ])('%s (token %s) → %s', (path, token, expected) => {
    expect(withoutToken(path, token)).toBe(expected);
  });
});
