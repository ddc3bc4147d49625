import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseProcNet, parseProcNetRow } from '../../src/parse/proc-net.js';
import { fixture } from '../helpers/fixtures.js';

const brief = (s: { address: string; port: number; inode: number }) => `${s.address} ${s.port} ${s.inode}`;

describe('parseProcNet on real /proc/net captures', () => {
  it('tcp: LISTEN rows only; ESTABLISHED and TIME_WAIT are not listeners', () => {
    const r = parseProcNet(fixture('proc-net/tcp'), 'tcp', 4);
    expect(r.sockets.map(brief)).toEqual(['0.0.0.0 65535 7127', '127.0.0.1 8080 7126']);
    expect(r.skipped).toBe(0);
    expect(r.sawOther).toBe(true);
    expect(r.sockets[0]).toMatchObject({ protocol: 'tcp', family: 4, uid: 0, v6only: null, interface: null });
  });

  it('tcp as kernels before 4.4 print it: pending requests (03) after their listener, all 60 listeners found', () => {
    // Hand-built in the format of Linux 4.3's get_tcp4_sock / get_openreq4 (rows padded to 149
    // columns): each listener is followed by its SYN_RECV requests (inode 0), then come the
    // established hash's rows. This kernel (>= 4.4) cannot print it any more.
    const r = parseProcNet(fixture('proc-net/tcp-before-4.4'), 'tcp', 4);
    expect(r.skipped).toBe(0);
    expect(r.sockets).toHaveLength(60);
    expect(r.sockets.map((s) => s.port).sort()).toEqual(Array.from({ length: 60 }, (_, i) => 8000 + i));
    expect(new Set(r.sockets.map((s) => s.inode)).size).toBe(60);
    expect(r.sockets.every((s) => s.uid === 1000)).toBe(true);
    expect(r.sawOther).toBe(true);
  });

  it('tcp6: ::, ::1, ::ffff:127.0.0.1 and a link-local address', () => {
    const r = parseProcNet(fixture('proc-net/tcp6'), 'tcp', 6);
    expect(r.sockets.map(brief)).toEqual([
      'fe80::649b:f6ff:fec3:427d 4000 7134',
      '::ffff:127.0.0.1 9229 7131',
      '::1 3000 7128',
      ':: 5173 7129',
      ':: 5174 7130',
    ]);
  });

  it('udp: bound unconnected (07) is a listener; connected (01) is not', () => {
    expect(parseProcNet(fixture('proc-net/udp'), 'udp', 4).sockets.map(brief)).toEqual(['127.0.0.1 53 7141']);
    expect(parseProcNet(fixture('proc-net/udp6'), 'udp', 6).sockets.map(brief)).toEqual([':: 5353 7142']);
  });

  it('skips and counts truncated and garbage rows', () => {
    const r = parseProcNet(fixture('proc-net/tcp-damaged'), 'tcp', 4);
    expect(r.sockets.map(brief)).toEqual(['127.0.0.1 8080 7126']);
    expect(r.skipped).toBe(4);
  });

  it('rejects a row whose inode or uid is beyond 2^53 - 1 rather than rounding it', () => {
    const row = (uid: string, inode: string) =>
      `   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 ${uid} 0 ${inode} 1 0000000000000000 100 0 0 10 0`;
    expect(parseProcNetRow(row('0', '18446744073709551615'), 'tcp', 4).kind).toBe('malformed');
    expect(parseProcNetRow(row('99999999999999999999', '7126'), 'tcp', 4).kind).toBe('malformed');
    expect(parseProcNetRow(row('4294967295', '9007199254740991'), 'tcp', 4)).toMatchObject({
      kind: 'listener',
      socket: { uid: 4294967295, inode: 9007199254740991 },
    });
    const r = parseProcNet([row('0', '7126'), row('0', '90071992547409931')].join('\n'), 'tcp', 4);
    expect(r.sockets.map((s) => s.inode)).toEqual([7126]);
    expect(r.skipped).toBe(1);
  });

  it('classifies rows', () => {
    expect(parseProcNetRow('garbage', 'tcp', 4).kind).toBe('malformed');
    expect(parseProcNetRow('', 'udp', 6).kind).toBe('malformed');
  });

  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(fc.string(), fc.constantFrom('tcp' as const, 'udp' as const), fc.constantFrom(4 as const, 6 as const), (text, p, f) => {
        const r = parseProcNet(text, p, f);
        return Array.isArray(r.sockets);
      }),
    );
  });

  it('never throws on row-shaped noise, and returns only exact integers', () => {
    const hex = fc.stringMatching(/^[0-9A-Fa-f]{0,33}$/);
    const decimal = fc.stringMatching(/^[0-9]{0,22}$/);
    const row = fc
      .tuple(hex, hex, hex, hex, decimal, decimal, fc.constantFrom('0A', '07', '03', '01'))
      .map(([a, b, c, d, uid, inode, st]) => `  0: ${a}:${b} ${c}:${d} ${st} 0:0 0:0 0 ${uid} 0 ${inode}`);
    fc.assert(
      fc.property(fc.array(row), fc.constantFrom('tcp' as const, 'udp' as const), fc.constantFrom(4 as const, 6 as const), (rows, p, f) => {
        for (const s of parseProcNet(rows.join('\n'), p, f).sockets) {
          expect(Number.isSafeInteger(s.inode) && Number.isSafeInteger(s.uid)).toBe(true);
          expect(s.port).toBeLessThanOrEqual(65535);
        }
      }),
    );
  });
});
