import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseSs, parseSsLine } from '../../src/parse/ss.js';
import { fixture } from '../helpers/fixtures.js';

const brief = (s: { protocol: string; family: number; address: string; port: number; inode: number; dualStack?: boolean | null }) =>
  `${s.protocol}${s.family} ${s.address} ${s.port} ${s.inode}${s.dualStack ? ' dual' : ''}`;

describe('parseSs on real ss output', () => {
  it('ss -Hne -t state listening (no header, no Netid, no State column)', () => {
    const r = parseSs(fixture('ss/tcp-listening-H.txt'), 'tcp');
    expect(r.skipped).toBe(0);
    expect(r.sockets.map(brief)).toEqual([
      'tcp4 0.0.0.0 65535 7127',
      'tcp4 127.0.0.1 8080 7126',
      'tcp6 fe80::649b:f6ff:fec3:427d 4000 7134',
      'tcp6 ::ffff:127.0.0.1 9229 7131',
      'tcp6 ::1 3000 7128',
      'tcp6 :: 5173 7129 dual',
      'tcp6 :: 5174 7130',
    ]);
    expect(r.sockets.find((s) => s.port === 5174)).toMatchObject({ v6only: true });
    expect(r.sockets.find((s) => s.port === 8080)).toMatchObject({ v6only: null, uid: 0 });
  });

  it('ss -Hne -u state unconnected', () => {
    expect(parseSs(fixture('ss/udp-unconnected-H.txt'), 'udp').sockets.map(brief)).toEqual([
      'udp4 127.0.0.1 53 7141',
      'udp6 :: 5353 7142 dual',
    ]);
  });

  it('with a header and a Netid column', () => {
    const r = parseSs(fixture('ss/tcp-udp-listening-header.txt'), 'udp');
    expect(r.sockets).toHaveLength(7);
    expect(r.sockets.every((s) => s.protocol === 'tcp')).toBe(true);
  });

  it("the seed's ss -lntu output: UDP UNCONN rows are listeners too (the seed dropped them)", () => {
    const r = parseSs(fixture('ss/seed-lntu.txt'), 'tcp');
    expect(r.sockets.filter((s) => s.protocol === 'udp').map((s) => s.port)).toEqual([53, 5353]);
    expect(r.sockets).toHaveLength(9);
  });

  it('skips ESTAB and TIME-WAIT rows, and survives odd process names', () => {
    const r = parseSs(fixture('ss/odd-process-names.txt'), 'tcp');
    expect(r.sockets.map((s) => `${s.protocol} ${s.port}`).sort()).toEqual(
      ['tcp 3000', 'tcp 4000', 'tcp 5173', 'tcp 5174', 'tcp 65535', 'tcp 8080', 'tcp 9229', 'udp 53', 'udp 5353'].sort(),
    );
    expect(r.sockets.find((s) => s.port === 8080)?.inode).toBe(0); // "ino:1" inside a name is not an inode
  });

  it('rejects lines that are not sockets', () => {
    expect(parseSsLine('hello world', 'tcp')).toBeNull();
    expect(parseSsLine('0 0 999.1.1.1:80 0.0.0.0:*', 'tcp')).toBeNull();
    expect(parseSsLine('0 0 127.0.0.1:99999 0.0.0.0:*', 'tcp')).toBeNull();
  });

  it('never throws on arbitrary input', () => {
    fc.assert(fc.property(fc.string(), (text) => Array.isArray(parseSs(text, 'tcp').sockets)));
    const token = fc.constantFrom(
      '0',
      '128',
      '[::1]:80',
      '*:*',
      '*:5',
      'ino:x',
      'v6only:1',
      'users:((',
      '))',
      'LISTEN',
      'udp',
      '[::',
      '%lo:3',
    );
    fc.assert(fc.property(fc.array(token, { maxLength: 12 }), (ts) => Array.isArray(parseSs(ts.join(' '), 'udp').sockets)));
  });
});
