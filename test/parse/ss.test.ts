import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseSs, parseSsLine } from '../../src/parse/ss.js';
import type { RawSocket } from '../../src/sources/source.js';
import { fixture } from '../helpers/fixtures.js';

/** One socket in a line; `dual` when an IPv6 wildcard says it accepts IPv4, `%dev` when bound. */
const brief = (s: RawSocket) =>
  `${s.protocol}${s.family} ${s.address}${s.interface ? `%${s.interface}` : ''} ${s.port} ${s.inode}` +
  `${s.address === '::' && s.v6only === false ? ' dual' : ''}`;

describe('parseSs on real ss output', () => {
  it('ss -Hne -t state listening (no header, no Netid, no State column)', () => {
    const r = parseSs(fixture('ss/tcp-listening-H.txt'), 'tcp');
    expect(r.sockets.map(brief)).toEqual([
      'tcp4 0.0.0.0 65535 7127',
      'tcp4 127.0.0.1 8080 7126',
      'tcp6 fe80::649b:f6ff:fec3:427d%dummy0 4000 7134',
      'tcp6 ::ffff:127.0.0.1 9229 7131',
      'tcp6 ::1 3000 7128',
      'tcp6 :: 5174 7130',
    ]);
    // `*:5173`: this call asked for both families, so nothing says which one `*` is.
    expect(r.skipped).toBe(1);
    expect(r.sockets.find((s) => s.port === 5174)).toMatchObject({ v6only: true });
    expect(r.sockets.find((s) => s.port === 8080)).toMatchObject({ v6only: null, uid: 0, interface: null });
  });

  it('ss -Hne -u state unconnected', () => {
    const r = parseSs(fixture('ss/udp-unconnected-H.txt'), 'udp');
    expect(r.sockets.map(brief)).toEqual(['udp4 127.0.0.1 53 7141']);
    expect(r.skipped).toBe(1); // `*:5353`, for the same reason
  });

  it('with a header and a Netid column', () => {
    const r = parseSs(fixture('ss/tcp-udp-listening-header.txt'), 'udp');
    expect(r.sockets).toHaveLength(6);
    expect(r.sockets.every((s) => s.protocol === 'tcp')).toBe(true);
  });

  it("the seed's ss -lntu output: UDP UNCONN rows are listeners too (the seed dropped them)", () => {
    const r = parseSs(fixture('ss/seed-lntu.txt'), 'tcp');
    expect(r.sockets.filter((s) => s.protocol === 'udp').map((s) => s.port)).toEqual([53]);
    expect(r.sockets).toHaveLength(7);
    expect(r.skipped).toBe(2); // `*:5353` and `*:5173`: no family was asked for
  });

  it('skips ESTAB and TIME-WAIT rows, and survives odd process names', () => {
    const r = parseSs(fixture('ss/odd-process-names.txt'), 'tcp');
    expect(r.sockets.map((s) => `${s.protocol} ${s.port}`).sort()).toEqual(
      ['tcp 3000', 'tcp 4000', 'tcp 5174', 'tcp 65535', 'tcp 8080', 'tcp 9229', 'udp 53'].sort(),
    );
    expect(r.sockets.find((s) => s.port === 8080)?.inode).toBe(0); // "ino:1" inside a name is not an inode
  });

  it('rejects lines that are not sockets', () => {
    expect(parseSsLine('hello world', 'tcp')).toBeNull();
    expect(parseSsLine('0 0 999.1.1.1:80 0.0.0.0:*', 'tcp')).toBeNull();
    expect(parseSsLine('0 0 127.0.0.1:99999 0.0.0.0:*', 'tcp')).toBeNull();
  });
});

describe('parseSs on ss -e output with a cgroup named like ss fields (test/fixtures/capture-bound-sockets.py)', () => {
  // Every socket was made in the cgroup `pw)) ino:1 uid:4242 v6only:1 <->`, which ss prints raw.
  it('tcp4: takes ino and uid from before cgroup:, never from the path', () => {
    const r = parseSs(fixture('ss/netns-tcp4.txt'), 'tcp', 4);
    expect(r.skipped).toBe(0);
    expect(r.sockets).toEqual([
      { protocol: 'tcp', family: 4, address: '127.0.0.1', port: 7001, inode: 265790, uid: 0, v6only: null, interface: null },
      { protocol: 'tcp', family: 4, address: '127.0.0.1', port: 7003, inode: 265803, uid: 65534, v6only: null, interface: null },
      { protocol: 'tcp', family: 4, address: '0.0.0.0', port: 7002, inode: 265791, uid: 0, v6only: null, interface: 'lo' },
    ]);
  });

  it('tcp6: v6only is ss own last field, not the one in the path; link-local listeners keep their device', () => {
    const r = parseSs(fixture('ss/netns-tcp6.txt'), 'tcp', 6);
    expect(r.skipped).toBe(0);
    expect(r.sockets.map(brief)).toEqual([
      'tcp6 fe80::1%pw1 7006 265795',
      'tcp6 fe80::1%pw0 7006 265794',
      'tcp6 :: 7005 265793',
      'tcp6 :: 7004 265792 dual',
      'tcp6 ::%lo 7007 265796 dual',
    ]);
    expect(r.sockets.map((s) => s.v6only)).toEqual([true, true, true, false, false]);
    expect(r.sockets.every((s) => s.uid === 0)).toBe(true);
  });

  it('udp4 and udp6', () => {
    expect(parseSs(fixture('ss/netns-udp4.txt'), 'udp', 4).sockets.map(brief)).toEqual([
      'udp4 127.0.0.1 7008 265797',
      'udp4 0.0.0.0%lo 7009 265798',
    ]);
    expect(parseSs(fixture('ss/netns-udp6.txt'), 'udp', 6).sockets.map(brief)).toEqual([
      'udp6 :: 7010 265799 dual',
      'udp6 fe80::1%pw1 7011 265800',
    ]);
  });

  it('rejects a row in which one of ss own fields appears twice before cgroup:', () => {
    const line = fixture('ss/netns-tcp4.txt').split('\n')[0]!.replace('ino:265790', 'ino:265790 ino:1');
    expect(parseSsLine(line, 'tcp', 4)).toBeNull();
  });

  it('reads a users column up to its first `))` (ss cuts names at the first `)`)', () => {
    const line = '0 128 127.0.0.1:7001 0.0.0.0:* users:(("a",pid=1,fd=3)) ino:5 sk:1 cgroup:/x)) ino:1 <->';
    expect(parseSsLine(line, 'tcp', 4)).toMatchObject({ inode: 5 });
  });
});

describe('parseSs: the family of `*` comes from the call', () => {
  // The `*:7004` row of netns-tcp6.txt as a kernel without INET_DIAG_SKV6ONLY prints it.
  const noV6only = '0      128                *:7004    *:* ino:265792 sk:1557 cgroup:/ <->';

  it('is IPv6 (dual-stack unknown) from an ss -6 call, IPv4 from an ss -4 call', () => {
    expect(parseSsLine(noV6only, 'tcp', 6)).toEqual({
      protocol: 'tcp',
      family: 6,
      address: '::',
      port: 7004,
      inode: 265792,
      uid: 0,
      v6only: null,
      interface: null,
    });
    expect(parseSsLine(noV6only, 'tcp', 4)).toMatchObject({ family: 4, address: '0.0.0.0' });
  });

  it('is not guessed when the call asked for both families', () => {
    expect(parseSsLine(noV6only, 'tcp')).toBeNull();
  });

  it('rejects an address of the other family than the one asked for', () => {
    expect(parseSsLine('0 128 127.0.0.1:80 0.0.0.0:* ino:5 sk:1 <->', 'tcp', 6)).toBeNull();
    expect(parseSsLine('0 128 [::1]:80 [::]:* ino:5 sk:1 v6only:1 <->', 'tcp', 4)).toBeNull();
  });
});

describe('parseSs integers', () => {
  it('rejects an inode or uid beyond 2^53 - 1 rather than rounding it', () => {
    expect(parseSsLine('0 128 127.0.0.1:80 0.0.0.0:* ino:18446744073709551615 sk:1 <->', 'tcp', 4)).toBeNull();
    expect(parseSsLine('0 128 127.0.0.1:80 0.0.0.0:* uid:99999999999999999999 ino:5 sk:1 <->', 'tcp', 4)).toBeNull();
    expect(parseSsLine('0 128 127.0.0.1:80 0.0.0.0:* uid:4294967295 ino:9007199254740991 sk:1 <->', 'tcp', 4)).toMatchObject({
      uid: 4294967295,
      inode: 9007199254740991,
    });
  });
});

describe('parseSs never throws', () => {
  const family = fc.constantFrom(4 as const, 6 as const, undefined);

  it('on arbitrary text', () => {
    fc.assert(fc.property(fc.string(), family, (text, f) => Array.isArray(parseSs(text, 'tcp', f).sockets)));
  });

  it('on ss-shaped tokens, and what it returns is well formed', () => {
    const token = fc.constantFrom(
      '0',
      '128',
      '[::1]:80',
      '*:*',
      '*:5',
      '*%lo:5',
      '127.0.0.1%eth0:9',
      '[fe80::1]%d0:7',
      'ino:x',
      'ino:12',
      'ino:99999999999999999999',
      'uid:7',
      'cgroup:/a',
      'v6only:1',
      '<->',
      'users:((',
      '))',
      'LISTEN',
      'udp',
      '[::',
      '%lo:3',
    );
    fc.assert(
      fc.property(fc.array(token, { maxLength: 12 }), family, (ts, f) => {
        for (const s of parseSs(ts.join(' '), 'udp', f).sockets) {
          expect(Number.isSafeInteger(s.inode) && Number.isSafeInteger(s.uid)).toBe(true);
          expect(s.port).toBeLessThanOrEqual(65535);
          if (f !== undefined) expect(s.family).toBe(f);
        }
      }),
    );
  });
});
