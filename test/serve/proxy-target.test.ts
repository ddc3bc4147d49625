import { describe, expect, it } from 'vitest';
import type { Listener } from '../../src/listener.js';
import { connectAddress, parseProxyPort, resolveProxyTarget, type ProxyContext } from '../../src/serve/proxy-target.js';

function l(address: string, port: number, extra: Partial<Listener & { http: string | null }> = {}): Listener & { http?: string | null } {
  return {
    protocol: 'tcp',
    family: address.includes(':') ? 6 : 4,
    address,
    port,
    dualStack: false,
    interface: null,
    inode: Math.floor(Math.random() * 1e6),
    uid: 0,
    netns: '4026531840',
    process: null,
    ...extra,
  };
}

const ctx: ProxyContext = { servePorts: new Set([4040]), netns: '4026531840' };

describe('connectAddress', () => {
  it('wildcards go to the loopback address of their family; others as they are', () => {
    expect(connectAddress(l('0.0.0.0', 1))).toBe('127.0.0.1');
    expect(connectAddress(l('::', 1))).toBe('::1');
    expect(connectAddress(l('127.0.0.1', 1))).toBe('127.0.0.1');
    expect(connectAddress(l('::1', 1))).toBe('::1');
    expect(connectAddress(l('192.168.1.5', 1))).toBe('192.168.1.5');
    expect(connectAddress(l('::ffff:127.0.0.1', 1))).toBe('::ffff:127.0.0.1');
    expect(connectAddress(l('fe80::1', 1))).toBeNull(); // link-local without its zone
  });
});

describe('resolveProxyTarget', () => {
  it('goes to the address the port listens on', () => {
    expect(resolveProxyTarget(3000, [l('::1', 3000)], ctx)).toMatchObject({
      ok: true,
      target: { host: '::1', port: 3000, family: 6, tls: false },
    });
    expect(resolveProxyTarget(3000, [l('0.0.0.0', 3000)], ctx)).toMatchObject({ ok: true, target: { host: '127.0.0.1', family: 4 } });
    expect(resolveProxyTarget(3000, [l('10.0.0.7', 3000)], ctx)).toMatchObject({ ok: true, target: { host: '10.0.0.7' } });
  });

  it('prefers loopback, then IPv4', () => {
    const all = [l('10.0.0.7', 3000), l('::', 3000), l('::1', 3000), l('0.0.0.0', 3000)];
    expect(resolveProxyTarget(3000, all, ctx)).toMatchObject({ ok: true, target: { host: '127.0.0.1' } });
    expect(resolveProxyTarget(3000, [l('::', 3000), l('10.0.0.7', 3000)], ctx)).toMatchObject({ ok: true, target: { host: '::1' } });
  });

  it('speaks TLS to a port found to be HTTPS', () => {
    expect(resolveProxyTarget(8443, [l('127.0.0.1', 8443, { http: 'https' })], ctx)).toMatchObject({ ok: true, target: { tls: true } });
  });

  it('502 naming the port when nothing listens on it (UDP does not count)', () => {
    const r = resolveProxyTarget(3000, [l('127.0.0.1', 3001), l('127.0.0.1', 3000, { protocol: 'udp' })], ctx);
    expect(r).toEqual({ ok: false, status: 502, reason: 'nothing is listening on TCP port 3000' });
  });

  it('403 for portwatch’s own port, even if it were in the list', () => {
    expect(resolveProxyTarget(4040, [l('127.0.0.1', 4040)], ctx)).toMatchObject({
      ok: false,
      status: 403,
      reason: expect.stringContaining('portwatch itself'),
    });
  });

  it('refuses a port in another network namespace: connecting from here would reach something else', () => {
    const r = resolveProxyTarget(3000, [l('127.0.0.1', 3000, { netns: '4026532999' })], ctx);
    expect(r).toMatchObject({ ok: false, status: 502, reason: expect.stringContaining('another network namespace (4026532999)') });
    expect(resolveProxyTarget(3000, [l('127.0.0.1', 3000, { netns: '4026532999' })], { ...ctx, netns: null })).toMatchObject({ ok: true });
  });

  it('refuses a port only on a link-local address', () => {
    expect(resolveProxyTarget(3000, [l('fe80::1', 3000)], ctx)).toMatchObject({
      ok: false,
      status: 502,
      reason: expect.stringContaining('link-local'),
    });
  });

  it('400 for a number that is not a port', () => {
    expect(resolveProxyTarget(0, [], ctx)).toMatchObject({ ok: false, status: 400 });
    expect(resolveProxyTarget(65536, [], ctx)).toMatchObject({ ok: false, status: 400 });
  });
});

describe('parseProxyPort', () => {
  it('1…65535 without leading zeros', () => {
    expect(['1', '80', '65535'].map(parseProxyPort)).toEqual([1, 80, 65535]);
    expect(['0', '65536', '080', '', '8a', '-1'].map(parseProxyPort)).toEqual([null, null, null, null, null, null]);
  });
});
