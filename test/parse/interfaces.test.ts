import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseIgmp6Interfaces, parseIgmpInterfaces } from '../../src/parse/interfaces.js';
import { fixture } from '../helpers/fixtures.js';

describe('interface names from /proc/net/igmp6 and igmp', () => {
  it('reads index and name from a namespace with lo and a veth pair (capture-bound-sockets.py)', () => {
    const expected = new Map([
      [1, 'lo'],
      [2, 'pw1'],
      [3, 'pw0'],
    ]);
    expect(parseIgmp6Interfaces(fixture('proc-net/igmp6'))).toEqual(expected);
    expect(parseIgmpInterfaces(fixture('proc-net/igmp'))).toEqual(expected);
  });

  it('igmp6 names interfaces that are down (ifb0, ifb1 here); igmp names only those that are up', () => {
    const v6 = parseIgmp6Interfaces(fixture('proc-net/igmp6-with-down-interfaces'));
    const v4 = parseIgmpInterfaces(fixture('proc-net/igmp-with-down-interfaces'));
    expect(v6).toEqual(
      new Map([
        [1, 'lo'],
        [2, 'ifb0'],
        [3, 'ifb1'],
        [4, 'eth0'],
      ]),
    );
    expect(v4).toEqual(
      new Map([
        [1, 'lo'],
        [4, 'eth0'],
      ]),
    );
    // Merged into one table, as the sock_diag source does.
    expect(parseIgmpInterfaces(fixture('proc-net/igmp-with-down-interfaces'), new Map(v6)).size).toBe(4);
  });

  it('ignores rows it does not understand', () => {
    expect(parseIgmp6Interfaces('x\n0    zero   ff02::1\n99999999999999999999 big ff02\n7 a:b ff02\n').size).toBe(0);
    expect(parseIgmpInterfaces('Idx\tDevice    : Count\n\t\t\t\t010000E0     1 0:00000000\t\t0\n').size).toBe(0);
  });

  it('never throws, and names are never empty, spaced or holding `:`', () => {
    const piece = fc.constantFrom('1', '42', '0', '99999999999999999999', '\t', ' ', ':', 'lo', 'eth0', 'a:b', 'ff02::1', '\n', 'V3');
    const rowLike = fc.array(piece, { maxLength: 30 }).map((ps) => ps.join(''));
    fc.assert(
      fc.property(fc.oneof(fc.string(), rowLike), (text) => {
        for (const parse of [parseIgmp6Interfaces, parseIgmpInterfaces]) {
          for (const [index, name] of parse(text)) {
            expect(Number.isSafeInteger(index) && index > 0).toBe(true);
            expect(name).toMatch(/^[^\s:]+$/);
          }
        }
      }),
    );
  });
});
