import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { nativeWalk, type NativeWalk } from '../../src/owners/native-walk.js';
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

  const walker = nativeWalk();
  it.skipIf(walker === null)('an owner a native walk found is read a bounded share at a time when a new process listens', async () => {
    // A server holding thousands of connections owns a listener; a native walk finds it and
    // keeps its table, never listed, as a recent owner's. New processes then listen: the look
    // at recent owners, on the Node thread, reads at most 1,000 of the server's fds each time
    // (they were read whole, ~1 s at 60k fds), and once all are known, only what changed.
    const oneThread: NativeWalk = (root, pids, wanted, _threads, known) => (walker as NativeWalk)(root, pids, wanted, 1, known);
    const proc = fakeProc();
    for (let fd = 3; fd < 2_503; fd++) proc.hold(100, fd, 100_000 + fd);
    proc.hold(100, 2_503, 555);
    const owners = new SocketOwners(proc.root, Date.now, oneThread);
    expect((await owners.resolve([555])).get(555)).toEqual([100]);
    const costs: number[] = [];
    for (let pid = 200; pid < 205; pid++) {
      proc.hold(pid, 3, pid * 10);
      const before = owners.stats.readlinks;
      expect((await owners.resolve([pid * 10])).get(pid * 10)).toEqual([pid]);
      costs.push(owners.stats.readlinks - before);
    }
    expect(owners.stats.walks).toBe(6);
    // 1,000 + the walk's one, twice; then the last 501, the earlier new owners' one fd each and
    // the probes of free fd numbers (fd-tables.ts); then probes only.
    expect(costs.slice(0, 2)).toEqual([1_001, 1_001]);
    expect(costs[2]).toBeLessThanOrEqual(501 + 20);
    expect(costs.slice(3).every((c) => c <= 10)).toBe(true);
  });

  it.skipIf(walker === null)(
    'a new process’s listener is found without listing an old owner of thousands of fds on the Node thread',
    async () => {
      // The shape of a busy host: a server holding 10,000 fds owns a listener (a native walk found
      // it). Before, the look at recent owners then read every one of its fds in JS before the walk
      // that finds a new process's listener at once (~1 s at 60k connections, on the Node thread).
      const big = spawn('python3', ['-c', BIG_OWNER_PY, '10000'], { stdio: ['pipe', 'pipe', 'inherit'] });
      try {
        const port = Number(await new Promise((r) => createInterface({ input: big.stdout }).once('line', r)));
        let nativeReadlinks = 0;
        const counting: NativeWalk = async (...args) => {
          const r = await (walker as NativeWalk)(...args);
          nativeReadlinks += r.readlinks;
          return r;
        };
        const owners = new SocketOwners('/proc', Date.now, counting);
        const [bigInode] = await inodesOnPorts([port]);
        expect((await owners.resolve([bigInode as number])).get(bigInode as number)).toEqual([big.pid]);
        const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
        const [inode] = await inodesOnPorts(holder.ports);
        const before = { all: owners.stats.readlinks, native: nativeReadlinks };
        expect((await owners.resolve([inode as number])).get(inode as number)).toEqual([holder.pid]);
        const onNodeThread = owners.stats.readlinks - before.all - (nativeReadlinks - before.native);
        expect(onNodeThread).toBeLessThan(100); // was 10,000
      } finally {
        big.kill('SIGKILL');
      }
    },
  );
});

/** One listener and argv[1] more fds (dups of /dev/null); prints the port, ends on stdin EOF or after 5 min. */
const BIG_OWNER_PY = `
import os, socket, sys, threading
threading.Timer(300, lambda: os._exit(3)).start()
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()
fd = os.open('/dev/null', os.O_RDONLY)
for _ in range(int(sys.argv[1])): os.dup(fd)
print(s.getsockname()[1], flush=True)
sys.stdin.read()
`;

async function inodesOnPorts(ports: readonly number[]): Promise<number[]> {
  const { listeners } = await scan({ source: 'procfs', owners: false });
  return ports.map((port) => {
    const l = listeners.find((x) => x.port === port && x.protocol === 'tcp');
    if (l === undefined) throw new Error(`nothing listens on ${port}`);
    return l.inode;
  });
}
