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
    expect(r.sockets[0]).toMatchObject({ protocol: 'tcp', family: 4, uid: 0, v6only: null });
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

  it('never throws on row-shaped noise', () => {
    const hex = fc.stringMatching(/^[0-9A-Fa-f]{0,33}$/);
    const row = fc
      .tuple(hex, hex, hex, hex, fc.stringMatching(/^[0-9]{0,12}$/))
      .map(([a, b, c, d, n]) => `  0: ${a}:${b} ${c}:${d} 0A 0:0 0:0 0 ${n} 0 ${n}`);
    fc.assert(fc.property(fc.array(row), (rows) => Array.isArray(parseProcNet(rows.join('\n'), 'tcp', 6).sockets)));
  });
});
