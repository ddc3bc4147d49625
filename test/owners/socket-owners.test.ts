import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SocketOwners } from '../../src/owners/socket-owners.js';
import { scan } from '../../src/scan.js';
import { holdSockets, stopAll } from '../helpers/processes.js';

const fakeRoots: string[] = [];
afterEach(async () => {
  for (const d of fakeRoots.splice(0)) rmSync(d, { recursive: true, force: true });
  await stopAll();
});

/** A /proc-shaped directory: `<pid>/fd/<n>` symlinks whose text is what readlink returns. */
function fakeProc(): { root: string; hold(pid: number, fd: number, inode: number): void } {
  const root = mkdtempSync(join(tmpdir(), 'portwatch-fakeproc-'));
  fakeRoots.push(root);
  return {
    root,
    hold(pid, fd, inode) {
      mkdirSync(join(root, String(pid), 'fd'), { recursive: true });
      symlinkSync(`socket:[${inode}]`, join(root, String(pid), 'fd', String(fd)));
    },
  };
}

async function inodesOf(pid: number): Promise<number[]> {
  const { listeners } = await scan({ source: 'procfs', owners: false });
  const mine = new Set<number>();
  // Without owners, find the holder's inodes through a fresh resolver.
  const owners = new SocketOwners();
  const found = await owners.resolve(listeners.map((l) => l.inode));
  for (const [inode, holders] of found) if (holders.includes(pid)) mine.add(inode);
  return [...mine];
}

describe('SocketOwners', () => {
  it('finds the owners of several sockets in one walk', async () => {
    const holder = await holdSockets([
      { proto: 'tcp', host: '127.0.0.1' },
      { proto: 'udp', host: '::1' },
    ]);
    const inodes = await inodesOf(holder.pid);
    expect(inodes).toHaveLength(2);
    const owners = new SocketOwners();
    const first = await owners.resolve(inodes);
    expect([...first.values()]).toEqual([[holder.pid], [holder.pid]]);
    expect(owners.stats.walks).toBe(1);
  });

  it('a closed socket is not found, and then looked for with back-off only', async () => {
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
    const [inode] = await inodesOf(holder.pid);
    let clock = 0;
    const owners = new SocketOwners('/proc', () => clock);
    expect((await owners.resolve([inode as number])).get(inode as number)).toEqual([holder.pid]);
    await holder.close(0);
    expect((await owners.resolve([inode as number])).has(inode as number)).toBe(false);
    expect(owners.stats.walks).toBe(2);
    expect(owners.nextRetryAt()).toBe(1_000); // when a look would next be spent on it
    clock += 10;
    await owners.resolve([inode as number]); // within the back-off: no look at all
    expect(owners.stats).toMatchObject({ walks: 2, newProcessLooks: 0 });
    clock += 1_000;
    await owners.resolve([inode as number]); // back-off over: a look at new processes only
    expect(owners.stats).toMatchObject({ walks: 2, newProcessLooks: 1 });
    expect(owners.nextRetryAt()).toBe(1_010 + 2_000); // doubled
    owners.forget(() => false);
    expect(owners.nextRetryAt()).toBeNull();
  });

  it('a socket no walk can find costs one walk in its life; later only new processes are read', async () => {
    const proc = fakeProc();
    for (let pid = 100; pid < 150; pid++) proc.hold(pid, 3, 1_000 + pid);
    let clock = 0;
    const owners = new SocketOwners(proc.root, () => clock);
    expect((await owners.resolve([555])).size).toBe(0);
    expect(owners.stats.walks).toBe(1);
    const readlinksAfterWalk = owners.stats.readlinks;
    for (let i = 0; i < 20; i++) {
      clock += 60_000;
      expect((await owners.resolve([555])).size).toBe(0);
    }
    expect(owners.stats.walks).toBe(1);
    expect(owners.stats.newProcessLooks).toBe(20);
    expect(owners.stats.readlinks).toBe(readlinksAfterWalk); // nothing new to read
    // A process that appears later holding it is found on the next look, without a walk.
    proc.hold(7, 4, 555);
    clock += 60_000;
    expect((await owners.resolve([555])).get(555)).toEqual([7]);
    expect(owners.stats.walks).toBe(1);
    // A new socket is a new question: one walk, newest pid first, stopping when found.
    proc.hold(300, 3, 9_999);
    const before = owners.stats.readlinks;
    expect((await owners.resolve([9_999])).get(9_999)).toEqual([300]);
    expect(owners.stats.walks).toBe(2);
    // One in pid 300, where the walk stops; one for the fd of pid 7 (an owner before) not read yet.
    expect(owners.stats.readlinks - before).toBe(2);
  });

  it('reads the processes a kernel event named first: a new socket of an old process costs its fds, not a walk', async () => {
    const proc = fakeProc();
    for (let pid = 1_000; pid < 1_050; pid++) for (let fd = 3; fd < 103; fd++) proc.hold(pid, fd, pid * 1_000 + fd);
    proc.hold(7, 3, 1);
    proc.hold(7, 4, 555);
    const owners = new SocketOwners(proc.root);
    expect((await owners.resolve([555], { likely: [7] })).get(555)).toEqual([7]);
    expect(owners.stats).toMatchObject({ walks: 0, likelyLooks: 1 });
    expect(owners.stats.readlinks).toBeLessThanOrEqual(2);
    // A named process that does not hold it: the walk still finds it.
    proc.hold(1_049, 200, 777);
    expect((await owners.resolve([777], { likely: [7] })).get(777)).toEqual([1_049]);
    expect(owners.stats).toMatchObject({ walks: 1, likelyLooks: 2 });
  });
});
