/**
 * Holders of a shared socket and the owner named, on a fake /proc (literal trees) and the
 * pure owner choice; the real pre-forked server is in test/scan.test.ts.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { ProcessInfo } from '../../src/listener.js';
import { chooseOwner, familyHolders, ProcFamily, socketInode } from '../../src/owners/holders.js';
import { ownershipsOf } from '../../src/owners/ownership.js';
import { SocketOwners } from '../../src/owners/socket-owners.js';
import { fakeProc, removeFakeProcs } from './fake-proc.js';

afterEach(removeFakeProcs);

/** ppid lookups from a literal tree. */
const tree =
  (parents: Record<number, number>) =>
  (pid: number): number | null =>
    parents[pid] ?? null;

describe('chooseOwner', () => {
  it('names the holder that is an ancestor of all the others (the master)', () => {
    expect(chooseOwner([120, 100, 130], tree({ 120: 100, 130: 100, 100: 1 }))).toBe(100);
    // Through a process that does not hold it: still an ancestor.
    expect(chooseOwner([100, 150], tree({ 150: 140, 140: 100, 100: 1 }))).toBe(100);
  });

  it('falls back to the lowest pid when no holder is an ancestor of all the others', () => {
    expect(chooseOwner([300, 200], tree({ 300: 1, 200: 1 }))).toBe(200);
    // Two workers whose master closed its copy.
    expect(chooseOwner([130, 120], tree({ 120: 100, 130: 100 }))).toBe(120);
    // An ancestor of some but not all.
    expect(chooseOwner([100, 120, 90], tree({ 120: 100, 100: 1, 90: 1 }))).toBe(90);
  });

  it('a single holder is the owner; ppid loops and unknown parents end the chain', () => {
    expect(chooseOwner([7], () => null)).toBe(7);
    expect(chooseOwner([5, 6], tree({ 5: 6, 6: 5 }))).toBe(5);
  });

  it('always names one of the holders, whatever the tree', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 2, max: 40 }), { minLength: 1, maxLength: 6 }),
        fc.dictionary(fc.integer({ min: 1, max: 40 }).map(String), fc.integer({ min: 0, max: 40 })),
        (holders, parents) => {
          const owner = chooseOwner(holders, (pid) => parents[String(pid)] ?? null);
          expect(holders).toContain(owner);
        },
      ),
    );
  });
});

describe('socketInode', () => {
  it('reads socket links and nothing else', () => {
    expect(socketInode('socket:[123]')).toBe(123);
    expect(socketInode('pipe:[123]')).toBeNull();
    expect(socketInode('socket:[]x')).toBeNull();
    expect(socketInode('/dev/null')).toBeNull();
  });
});

describe('familyHolders on a fake /proc', () => {
  it('finds the master and every worker from the worker a walk found first', () => {
    const proc = fakeProc();
    proc.process(100, 1, 'master');
    proc.process(120, 100, 'worker');
    proc.process(130, 100, 'worker');
    proc.process(140, 100, 'logger'); // a child that does not hold it
    for (const pid of [100, 120, 130]) proc.hold(pid, 3, 9);
    proc.hold(140, 3, 10);
    expect(familyHolders(new ProcFamily(proc.root), 130, '3', 9)).toEqual([100, 120, 130]);
  });

  it('a process alone, or whose parent holds something else at that fd, is the only holder', () => {
    const proc = fakeProc();
    proc.process(50, 1);
    proc.process(60, 50);
    proc.hold(50, 3, 11);
    proc.hold(60, 3, 12);
    expect(familyHolders(new ProcFamily(proc.root), 60, '3', 12)).toEqual([60]);
    expect(familyHolders(new ProcFamily(proc.root), 77, '3', 12)).toEqual([77]); // no /proc entry at all
  });
});

describe('SocketOwners: every holder', () => {
  it('a walk that finds a worker first reports the master and all workers', async () => {
    const proc = fakeProc();
    proc.process(100, 1, 'master');
    for (const pid of [101, 102, 103]) {
      proc.process(pid, 100, 'worker');
      proc.hold(pid, 5, 42);
    }
    proc.hold(100, 5, 42);
    proc.process(200, 1, 'other');
    proc.hold(200, 3, 43);
    const owners = new SocketOwners(proc.root);
    const found = await owners.resolve([42, 43]);
    expect(found.get(42)).toEqual([100, 101, 102, 103]);
    expect(found.get(43)).toEqual([200]);
  });

  it('holders the walk passes that are not family (a socket passed over a unix socket) are reported too', async () => {
    const proc = fakeProc();
    proc.process(250, 1);
    proc.process(300, 1);
    proc.process(310, 1);
    proc.hold(310, 4, 7);
    proc.hold(300, 9, 7);
    proc.hold(250, 3, 8);
    const owners = new SocketOwners(proc.root);
    // 8 is in the oldest process: on its way there the walk sees 7 again in 300.
    const found = await owners.resolve([7, 8]);
    expect(found.get(7)).toEqual([300, 310]);
  });
});

describe('ownershipsOf', () => {
  const info = (pid: number, ppid: number, name: string): ProcessInfo => ({ pid, ppid, name, command: name, uid: 0 });
  const table: Record<number, ProcessInfo> = { 100: info(100, 1, 'nginx'), 101: info(101, 100, 'nginx'), 102: info(102, 100, 'nginx') };

  it('names the master with its full info and lists every holder by pid and name', () => {
    const found = new Map([[9, [101, 100, 102]]]);
    const o = ownershipsOf(found, (pid) => table[pid] ?? null).get(9);
    expect(o?.process).toBe(table[100]);
    expect(o?.holders).toEqual([
      { pid: 101, name: 'nginx' },
      { pid: 100, name: 'nginx' },
      { pid: 102, name: 'nginx' },
    ]);
  });

  it('drops holders that exited, and leaves out a socket whose holders all did', () => {
    const found = new Map([
      [9, [100, 555]],
      [10, [556]],
    ]);
    const reads: number[] = [];
    const result = ownershipsOf(found, (pid) => (reads.push(pid), table[pid] ?? null));
    expect(result.get(9)?.holders.map((h) => h.pid)).toEqual([100]);
    expect(result.has(10)).toBe(false);
    expect(new Set(reads).size).toBe(reads.length); // /proc read once per pid
  });
});
