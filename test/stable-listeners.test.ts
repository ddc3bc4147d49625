import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareListeners, listenerKey, type Listener, type ProcessInfo } from '../src/listener.js';
import { StableListeners } from '../src/stable-listeners.js';
import type { RawSocket } from '../src/types.js';

const OWNERS: ProcessInfo[] = [
  { pid: 10, ppid: 1, name: 'a', command: 'a', uid: 0 },
  { pid: 11, ppid: 1, name: 'b', command: 'b', uid: 0 },
];

/** What a scan returned before listeners were reused: built afresh, first row wins, sorted. */
function reference(raws: RawSocket[], netns: string, ownerOf: (inode: number) => ProcessInfo | null): Listener[] {
  const seen = new Set<string>();
  const out: Listener[] = [];
  for (const raw of raws) {
    const l: Listener = {
      protocol: raw.protocol,
      family: raw.family,
      address: raw.address,
      port: raw.port,
      dualStack: raw.family === 4 || raw.address !== '::' ? false : raw.v6only === null ? null : !raw.v6only,
      interface: raw.interface ?? null,
      inode: raw.inode,
      uid: raw.uid,
      netns,
      process: ownerOf(raw.inode),
    };
    if (seen.has(listenerKey(l))) continue;
    seen.add(listenerKey(l));
    out.push(l);
  }
  return out.sort(compareListeners);
}

// Small domains, so rows repeat, inodes are shared (0) and fields change under a kept inode.
const arbRaw: fc.Arbitrary<RawSocket> = fc
  .record({
    protocol: fc.constantFrom('tcp' as const, 'udp' as const),
    address: fc.constantFrom('127.0.0.1', '::1', '::'),
    port: fc.integer({ min: 1, max: 3 }),
    inode: fc.integer({ min: 0, max: 3 }),
    uid: fc.constantFrom(0, 1),
    v6only: fc.constantFrom(true, false, null),
    interface: fc.constantFrom(null, 'lo', undefined),
  })
  .map((r) => ({ ...r, family: r.address.includes(':') ? (6 as const) : (4 as const) }));
// Each scan picks rows from a small pool (repeats: duplicate rows, sockets that stay) plus a few of its own.
const arbOwners = fc.array(fc.integer({ min: -1, max: 1 }), { minLength: 4, maxLength: 4 });
const arbHistory = fc
  .record({
    pool: fc.array(arbRaw, { minLength: 1, maxLength: 6 }),
    scans: fc.array(
      fc.record({ picks: fc.array(fc.nat(), { maxLength: 10 }), extra: fc.array(arbRaw, { maxLength: 2 }), owners: arbOwners }),
      { minLength: 1, maxLength: 6 },
    ),
  })
  .map(({ pool, scans }) =>
    scans.map(({ picks, extra, owners }) => ({ raws: [...picks.map((i) => pool[i % pool.length] as RawSocket), ...extra], owners })),
  );

describe('StableListeners', () => {
  it('gives what building every listener afresh gives, scan after scan (duplicates, shared inodes, changed fields and owners)', () => {
    fc.assert(
      fc.property(arbHistory, (history) => {
        const stable = new StableListeners();
        for (const { raws, owners } of history) {
          const ownerOf = (inode: number): ProcessInfo | null => OWNERS[owners[inode] ?? -1] ?? null;
          expect(stable.from(raws, '7', ownerOf)).toEqual(reference(raws, '7', ownerOf));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('hands out the same objects while the rows stay, and a new object when an owner becomes known', () => {
    const raws: RawSocket[] = [
      { protocol: 'tcp', family: 4, address: '127.0.0.1', port: 80, inode: 5, uid: 0, v6only: null },
      { protocol: 'udp', family: 6, address: '::1', port: 53, inode: 6, uid: 0, v6only: true },
    ];
    const stable = new StableListeners();
    const nobody = (): ProcessInfo | null => null;
    const first = stable.from(raws, '7', nobody);
    const second = stable.from([...raws].reverse(), '7', nobody);
    expect(second).not.toBe(first);
    expect(second.every((l, i) => l === first[i])).toBe(true);
    const third = stable.from(raws, '7', (inode) => (inode === 5 ? (OWNERS[0] as ProcessInfo) : null));
    expect(third.map((l) => l.process?.pid ?? null)).toEqual([10, null]);
    expect(third[0]).not.toBe(first[0]);
    expect(third[1]).toBe(first[1]);
  });
});
