import { describe, expect, it } from 'vitest';
import {
  bearerToken,
  classifyHost,
  cookieValues,
  createTicket,
  isLocalhostName,
  normalizeAllowedHost,
  parseHostHeader,
  secretsEqual,
  verifyTicket,
  SESSION_COOKIE,
} from '../../src/serve/security.js';

describe('parseHostHeader', () => {
  it.each([
    ['localhost:4040', { hostname: 'localhost', port: 4040 }],
    ['LOCALHOST', { hostname: 'localhost', port: null }],
    ['localhost.:80', { hostname: 'localhost', port: 80 }],
    ['127.0.0.1:4040', { hostname: '127.0.0.1', port: 4040 }],
    ['[::1]:4040', { hostname: '::1', port: 4040 }],
    ['[::1]', { hostname: '::1', port: null }],
    ['p3000.localhost:4040', { hostname: 'p3000.localhost', port: 4040 }],
  ])('%s', (header, parsed) => {
    expect(parseHostHeader(header)).toEqual(parsed);
  });

  it.each([undefined, '', ':80', '[::1', '[nope]:80', 'a b', 'user@host', 'host:99999', 'host/path', '[fe80::1%25eth0]'])(
    '%j is malformed',
    (h) => {
      expect(parseHostHeader(h)).toBeNull();
    },
  );
});

describe('classifyHost (DNS rebinding allow-list)', () => {
  it.each(['localhost:4040', 'localhost', '127.0.0.1:4040', '[::1]:4040', '10.1.2.3:8080', '[2001:db8::1]:4040', 'LocalHost:4040'])(
    '%s is the dashboard',
    (h) => {
      expect(classifyHost(h)).toMatchObject({ kind: 'local' });
    },
  );

  it('p<PORT>.localhost is the proxy to PORT, whatever port the Host names (docker -p 8080:4040)', () => {
    expect(classifyHost('p3000.localhost:4040')).toEqual({ kind: 'proxy', hostname: 'p3000.localhost', port: 3000 });
    expect(classifyHost('p5173.localhost:8080')).toEqual({ kind: 'proxy', hostname: 'p5173.localhost', port: 5173 });
    expect(classifyHost('P65535.LOCALHOST')).toEqual({ kind: 'proxy', hostname: 'p65535.localhost', port: 65535 });
  });

  it.each([
    'evil.example.com',
    'evil.example.com:4040',
    'localhost.evil.com',
    'p3000.evil.com:4040',
    'p0.localhost',
    'p65536.localhost',
    'p03000.localhost',
    'x3000.localhost',
    'app.localhost',
    undefined,
  ])('rejects %j', (h) => {
    expect(classifyHost(h)).toMatchObject({ kind: 'rejected' });
  });

  it('accepts --allow-host names, and p<PORT>. under them, and nothing else', () => {
    const allow = ['dev.example.com', 'box'];
    expect(classifyHost('dev.example.com:4040', allow)).toMatchObject({ kind: 'local' });
    expect(classifyHost('box', allow)).toMatchObject({ kind: 'local' });
    expect(classifyHost('p8080.dev.example.com', allow)).toEqual({ kind: 'proxy', hostname: 'p8080.dev.example.com', port: 8080 });
    expect(classifyHost('evil.dev.example.com', allow)).toMatchObject({ kind: 'rejected' });
    expect(classifyHost('dev.example.com.evil.com', allow)).toMatchObject({ kind: 'rejected' });
  });

  it('the rejection says which host', () => {
    expect(classifyHost('attacker.test:4040')).toEqual({ kind: 'rejected', reason: "Host 'attacker.test' is not allowed" });
    expect(classifyHost(undefined)).toEqual({ kind: 'rejected', reason: 'the request has no Host header' });
  });

  it('normalizes --allow-host values', () => {
    expect(normalizeAllowedHost(' Dev.Example.COM. ')).toBe('dev.example.com');
    expect(normalizeAllowedHost('[::1]')).toBe('::1');
  });
});

describe('isLocalhostName', () => {
  it('is true for names a browser resolves to loopback by itself', () => {
    expect(['localhost', '127.0.0.1', '127.0.1.1', '::1'].map(isLocalhostName)).toEqual([true, true, true, true]);
    expect(['example.com', '10.0.0.1', '::'].map(isLocalhostName)).toEqual([false, false, false]);
  });
});

describe('token', () => {
  const token = 's3cret-token-value';

  it('secretsEqual compares any lengths', () => {
    expect(secretsEqual(token, token)).toBe(true);
    expect(secretsEqual(token, `${token}x`)).toBe(false);
    expect(secretsEqual(token, '')).toBe(false);
    expect(secretsEqual('', '')).toBe(true);
  });

  it('bearerToken reads the Authorization header', () => {
    expect(bearerToken(`Bearer ${token}`)).toBe(token);
    expect(bearerToken(`bearer   ${token} `)).toBe(token);
    expect(bearerToken(`Basic ${token}`)).toBeNull();
    expect(bearerToken(undefined)).toBeNull();
    expect(bearerToken('Bearer a b')).toBeNull();
  });

  it('cookieValues reads RFC 6265 pairs strictly and returns every value of the name', () => {
    expect(cookieValues('a=1; b=2;c=3; a=4; junk', 'a')).toEqual(['1', '4']);
    expect(cookieValues(`x=1; ${SESSION_COOKIE}=abc`, SESSION_COOKIE)).toEqual(['abc']);
    expect(cookieValues(`${SESSION_COOKIE}="abc"`, SESSION_COOKIE)).toEqual(['abc']);
    // not the cookie: a space before '=', a value with a space, a prefix of the name
    expect(cookieValues(`${SESSION_COOKIE} =abc`, SESSION_COOKIE)).toEqual([]);
    expect(cookieValues(`${SESSION_COOKIE}=a b`, SESSION_COOKIE)).toEqual([]);
    expect(cookieValues(`x${SESSION_COOKIE}=abc; ${SESSION_COOKIE}x=abc`, SESSION_COOKIE)).toEqual([]);
    expect(cookieValues(undefined, 'a')).toEqual([]);
  });
});

describe('tickets', () => {
  const token = 'tok';
  it('verify for the host they were made for, until they expire', () => {
    const now = 1_700_000_000_000;
    const t = createTicket(token, 'p3000.localhost', now, 60_000);
    expect(verifyTicket(token, t, 'p3000.localhost', now + 59_000)).toMatchObject({ expires: now + 60_000 });
    expect(verifyTicket(token, t, 'p3000.localhost', now + 61_000)).toBeNull();
    expect(verifyTicket(token, t, 'p3001.localhost', now)).toBeNull();
    expect(verifyTicket('other', t, 'p3000.localhost', now)).toBeNull();
  });

  it('a tampered ticket does not verify', () => {
    const now = Date.now();
    const t = createTicket(token, 'p1.localhost', now);
    const [exp, nonce, mac] = t.split('.') as [string, string, string];
    expect(verifyTicket(token, `${Number(exp) + 1000}.${nonce}.${mac}`, 'p1.localhost', now)).toBeNull();
    expect(verifyTicket(token, `${exp}.${nonce.replace(/^./, (c) => (c === 'A' ? 'B' : 'A'))}.${mac}`, 'p1.localhost', now)).toBeNull();
    expect(verifyTicket(token, 'garbage', 'p1.localhost', now)).toBeNull();
    expect(createTicket(token, 'p1.localhost', now)).not.toBe(t); // a fresh nonce each time
  });
});
