import { describe, expect, it } from 'vitest';
import { openLocation, proxyPathRoute, proxyPrefix, queryParam, splitRequestTarget, withoutParam } from '../../src/serve/routing.js';

describe('splitRequestTarget', () => {
  it('accepts origin-form only', () => {
    expect(splitRequestTarget('/a/b?x=1')).toEqual({ path: '/a/b', search: '?x=1' });
    expect(splitRequestTarget('/')).toEqual({ path: '/', search: '' });
    expect(splitRequestTarget('http://evil.com/')).toBeNull();
    expect(splitRequestTarget('//evil.com/')).toBeNull();
    expect(splitRequestTarget('*')).toBeNull();
    expect(splitRequestTarget(undefined)).toBeNull();
  });
});

describe('query parameters', () => {
  it('queryParam decodes', () => {
    expect(queryParam('?a=1&token=x%2By&b', 'token')).toBe('x+y');
    expect(queryParam('?b', 'b')).toBe('');
    expect(queryParam('', 'token')).toBeNull();
    expect(queryParam('?a=%zz&token=1', 'token')).toBe('1');
  });

  it('withoutParam removes it and keeps the rest byte for byte', () => {
    expect(withoutParam('?token=abc', 'token')).toBe('');
    expect(withoutParam('?a=b%20c&token=abc&z=+1', 'token')).toBe('?a=b%20c&z=+1');
    expect(withoutParam('?x=1', 'token')).toBe('?x=1');
    expect(withoutParam('', 'token')).toBe('');
  });
});

describe('proxyPathRoute', () => {
  it('/proxy/<PORT>/rest', () => {
    expect(proxyPathRoute('/proxy/3000/')).toEqual({ kind: 'proxy', port: 3000, rest: '/', capability: null });
    expect(proxyPathRoute('/proxy/3000/a/b')).toEqual({ kind: 'proxy', port: 3000, rest: '/a/b', capability: null });
    expect(proxyPathRoute('/proxy/3000')).toEqual({ kind: 'add-slash', port: 3000, capability: null });
    expect(proxyPathRoute('/proxy/0/')).toEqual({ kind: 'bad-port', text: '0' });
    expect(proxyPathRoute('/proxy/70000/')).toEqual({ kind: 'bad-port', text: '70000' });
    expect(proxyPathRoute('/proxy/abc/')).toEqual({ kind: 'bad-port', text: 'abc' });
    expect(proxyPathRoute('/proxyx/1/')).toBeNull();
    expect(proxyPathRoute('/api/listeners')).toBeNull();
  });
  it('/proxy/<PORT>.<capability>/rest: the path form signed in by a session id', () => {
    const cap = 'A'.repeat(43);
    expect(proxyPathRoute(`/proxy/3000.${cap}/x`)).toEqual({ kind: 'proxy', port: 3000, rest: '/x', capability: cap });
    expect(proxyPathRoute(`/proxy/3000.${cap}`)).toEqual({ kind: 'add-slash', port: 3000, capability: cap });
    expect(proxyPathRoute(`/proxy/3000.short/x`)).toEqual({ kind: 'bad-port', text: '3000.short' });
    expect(proxyPrefix(3000, cap)).toBe(`/proxy/3000.${cap}`);
    expect(proxyPrefix(3000, null)).toBe('/proxy/3000');
  });
});

describe('openLocation', () => {
  it('p<PORT>.localhost on loopback names, keeping the port the browser used', () => {
    expect(openLocation({ hostname: 'localhost', port: 4040 }, 3000)).toEqual({
      url: '//p3000.localhost:4040/',
      subdomain: 'p3000.localhost',
    });
    expect(openLocation({ hostname: '127.0.0.1', port: 8080 }, 5173)).toEqual({
      url: '//p5173.localhost:8080/',
      subdomain: 'p5173.localhost',
    });
    expect(openLocation({ hostname: '::1', port: null }, 80)).toEqual({ url: '//p80.localhost/', subdomain: 'p80.localhost' });
  });
  it('p<PORT>.NAME under an --allow-host NAME (each port an origin of its own)', () => {
    expect(openLocation({ hostname: 'dev.example.com', port: 4040 }, 3000, ['dev.example.com'])).toEqual({
      url: '//p3000.dev.example.com:4040/',
      subdomain: 'p3000.dev.example.com',
    });
  });
  it('the path form on IP addresses and names that are not allowed', () => {
    expect(openLocation({ hostname: 'dev.example.com', port: 4040 }, 3000)).toEqual({ url: '/proxy/3000/', subdomain: null });
    expect(openLocation({ hostname: '192.168.1.5', port: 4040 }, 3000, ['192.168.1.5'])).toEqual({ url: '/proxy/3000/', subdomain: null });
  });
});
