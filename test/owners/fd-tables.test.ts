/**
 * A process read again is read where a new socket can be first: a new listener in a process
 * with many fds costs a few readlinks (fake /proc, counted readlinks).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FdTables } from '../../src/owners/fd-tables.js';
import { SocketOwners } from '../../src/owners/socket-owners.js';
import { fakeProc, removeFakeProcs } from './fake-proc.js';

afterEach(removeFakeProcs);

/** A read of `pid` that saw `seen` (fd → inode, 0 for a file) among the listed `fds`. */
function read(tables: FdTables, pid: number, fds: string[], seen: Record<string, number>, isListener: (inode: number) => boolean): void {
  const table = tables.open(pid, true);
  if (table === null) throw new Error('no table');
  for (const [fd, inode] of Object.entries(seen)) tables.note(table, fd, inode, isListener(inode));
  tables.listed(pid, table, fds);
}

const order = (
  tables: FdTables,
  pid: number,
  fds: string[],
  isListener: (inode: number) => boolean,
  wanted = new Set<number>(),
): string[] => [...tables.order(tables.open(pid, false), fds, wanted, isListener)];

describe('FdTables.order', () => {
  it('new fds first, then fds whose listener closed, then other fds, then live listeners', () => {
    const tables = new FdTables();
    const live = new Set([101, 102]);
    const isListener = (inode: number): boolean => live.has(inode);
    read(tables, 7, ['0', '1', '2', '3'], { 0: 0, 1: 101, 2: 102, 3: 500 }, isListener);
    live.delete(102); // the listener at fd 2 closed
    expect(order(tables, 7, ['0', '1', '2', '3', '4'], isListener)).toEqual(['4', '2', '0', '3', '1']);
    // A process never read: as listed.
    expect(order(tables, 8, ['5', '3'], isListener)).toEqual(['5', '3']);
    // A socket seen before it listened (fd 3: 500) is read first when it is wanted.
    expect(order(tables, 7, ['0', '1', '2', '3', '4'], isListener, new Set([500]))).toEqual(['3', '4', '2', '0', '1']);
  });

  it('keeps what it did not read, drops closed fds, and remembers a bounded number of processes', () => {
    const tables = new FdTables();
    const isListener = (): boolean => true;
    read(tables, 7, ['1', '2'], { 1: 11, 2: 12 }, isListener);
    read(tables, 7, ['2', '3'], { 3: 13 }, isListener); // fd 1 closed, fd 2 not read again
    // fd 1 is new again (dropped), fd 2 kept 12 from the first read, fd 3 holds 13, which closed.
    expect(order(tables, 7, ['1', '2', '3'], (i) => i !== 13)).toEqual(['1', '3', '2']);
    // fd numbers far apart grow the table; one beyond what is remembered drops it.
    read(tables, 9, ['3', '5000'], { 3: 1, 5000: 2 }, isListener);
    expect(order(tables, 9, ['3', '5000', '6'], (i) => i !== 2)).toEqual(['6', '5000', '3']);
    read(tables, 9, ['3', '70000'], {}, isListener);
    expect(tables.has(9)).toBe(false);
    for (let pid = 100; pid < 200; pid++) read(tables, pid, ['1'], { 1: pid }, isListener);
    expect(tables.size).toBeLessThanOrEqual(32);
    expect(tables.has(7)).toBe(false);
    expect(tables.has(199)).toBe(true);
  });
});

describe('SocketOwners under churn in one process', () => {
  it('finds new listeners among the fds that changed, not by reading the whole table again', async () => {
    const proc = fakeProc();
    const pid = 4_000;
    const live = new Set<number>();
    for (let fd = 3; fd < 1_003; fd++) {
      proc.hold(pid, fd, 10_000 + fd);
      live.add(10_000 + fd);
    }
    for (let p = 5_000; p < 5_010; p++) proc.hold(p, 3, p); // newer processes, not involved
    const owners = new SocketOwners(proc.root);
    const isListener = (inode: number): boolean => live.has(inode);
    expect((await owners.resolve([...live], { likely: [pid], isListener })).size).toBe(1_000);
    // Three listeners close and three new ones take their fds (the lowest free); two more get new fds.
    const fresh = [1, 2, 3, 4, 5].map((i) => 90_000 + i);
    [10, 500, 900].forEach((fd, i) => {
      live.delete(10_000 + fd);
      proc.hold(pid, fd, fresh[i] as number);
    });
    proc.hold(pid, 1_003, fresh[3] as number);
    proc.hold(pid, 1_004, fresh[4] as number);
    for (const inode of fresh) live.add(inode);
    const before = owners.stats.readlinks;
    const found = await owners.resolve(fresh, { likely: [pid], isListener });
    expect([...found.keys()].sort()).toEqual(fresh);
    // The freed fds, a few free numbers around them: no listing, and not the 1,000 fds again.
    expect(owners.stats.readlinks - before).toBeLessThan(20);
    expect(owners.stats.walks).toBe(0);
  });
});

describe('SocketOwners without kernel events (polling)', () => {
  it('finds a new listener of a process that owned one before among its changed fds, without a walk', async () => {
    const proc = fakeProc();
    for (let fd = 3; fd < 503; fd++) proc.hold(4_000, fd, 10_000 + fd);
    for (let p = 5_000; p < 5_050; p++) for (let fd = 3; fd < 103; fd++) proc.hold(p, fd, p * 1_000 + fd); // newer, busy
    const owners = new SocketOwners(proc.root);
    expect((await owners.resolve([10_003])).get(10_003)).toEqual([4_000]); // one walk finds the owner
    expect(owners.stats.walks).toBe(1);
    proc.hold(4_000, 7, 99_001); // a listener closed, a new one took its fd
    proc.hold(4_000, 503, 99_002); // and one more on a new fd
    const before = owners.stats.readlinks;
    const found = await owners.resolve([99_001, 99_002], { isListener: (i) => i !== 10_007 });
    expect(found.get(99_001)).toEqual([4_000]);
    expect(found.get(99_002)).toEqual([4_000]);
    expect(owners.stats).toMatchObject({ walks: 1, recentLooks: 1 });
    expect(owners.stats.readlinks - before).toBeLessThan(600); // not the 5,000 fds of the newer processes
  });
});
