/**
 * Attribution on a busy host: ~100,000 open fds in 50 processes and 1,000 idle processes.
 * A new listener's owner is found newest pid first, or among the process a kernel event
 * named, after a handful of fd reads instead of the 100k a walk would read. The number of
 * readlinks is what is checked; the time is printed (it is ~ms, but the machine is shared).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SocketOwners } from '../../src/owners/socket-owners.js';
import { scan } from '../../src/scan.js';
import { holdManyFds, type FdHogs } from '../helpers/fd-hogs.js';
import { holdSockets, stopAll, type Holder } from '../helpers/processes.js';

// `count` sleeping children of one python3 process; they die with it (PR_SET_PDEATHSIG), which
// ends on stdin EOF or a signal, and after 5 minutes whatever happens.
const IDLE_PY = `
import ctypes, os, signal, sys, threading
threading.Timer(300, lambda: os._exit(3)).start()
kids = []
for _ in range(int(sys.argv[1])):
    pid = os.fork()
    if pid == 0:
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)
        if os.getppid() == 1: os._exit(0)
        signal.pause(); os._exit(0)
    kids.append(pid)
print(len(kids), flush=True)
sys.stdin.read()
for pid in kids: os.kill(pid, signal.SIGKILL)
os._exit(0)
`;

let hogs: FdHogs | null = null;
let idle: ChildProcess | null = null;
let old: Holder | null = null;

beforeAll(async () => {
  old = await holdSockets([]); // older than everything below: a walk newest first reaches it last
  hogs = await holdManyFds(100_000);
  idle = spawn('python3', ['-c', IDLE_PY, '1000'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const ready = new Promise<void>((resolve) =>
    createInterface({ input: idle?.stdout as NodeJS.ReadableStream }).once('line', () => resolve()),
  );
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('no idle processes in 60 s')), 60_000)));
  await Promise.race([ready, late]).finally(() => clearTimeout(timer));
}, 120_000);

afterAll(async () => {
  if (idle && idle.exitCode === null && idle.signalCode === null) idle.kill('SIGKILL');
  await hogs?.stop();
  await stopAll();
}, 60_000);

async function inodeOn(port: number): Promise<number> {
  const { listeners } = await scan({ source: 'procfs', owners: false });
  const l = listeners.find((x) => x.port === port);
  if (!l) throw new Error(`nothing listens on ${port}`);
  return l.inode;
}

describe('on a busy host (100k fds, 1,000 processes)', () => {
  it('finds a new process’s listener newest pid first, after reading a few fds', async () => {
    const owners = new SocketOwners();
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
    const inode = await inodeOn(holder.ports[0] as number);
    const t0 = performance.now();
    const found = await owners.resolve([inode]);
    const ms = performance.now() - t0;
    console.log(`new process, no hint: ${ms.toFixed(1)} ms, ${owners.stats.readlinks} readlinks`);
    expect(found.get(inode)).toEqual([holder.pid]);
    // Processes started after it on this shared machine are read first; 100k fds are not.
    expect(owners.stats.readlinks).toBeLessThan(1_000);
  });

  it('finds a new listener of an old process among the process a kernel event named, without a walk', async () => {
    const owners = new SocketOwners();
    const { port } = await (old as Holder).open({ proto: 'tcp', host: '127.0.0.1' });
    const inode = await inodeOn(port);
    const t0 = performance.now();
    const found = await owners.resolve([inode], { likely: [(old as Holder).pid] });
    const ms = performance.now() - t0;
    console.log(`old process, named by the event: ${ms.toFixed(1)} ms, ${owners.stats.readlinks} readlinks`);
    expect(found.get(inode)).toEqual([(old as Holder).pid]);
    expect(owners.stats).toMatchObject({ walks: 0, likelyLooks: 1 });
    expect(owners.stats.readlinks).toBeLessThan(100);
  });
});
