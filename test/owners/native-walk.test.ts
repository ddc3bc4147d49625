/**
 * The native walk over every process (native/fd-walk.c through owners/native-walk.ts) on real
 * processes holding real sockets: the same owners as the JS walk, full walks go native and
 * the rest stays JS, an early stop, a process that exits mid-walk, processes of another user
 * read as nobody (EACCES), and bad arguments refused in one clear TypeError.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { nativeWalk, nativeWalkUnavailableReason, type NativeWalk } from '../../src/owners/native-walk.js';
import { SocketOwners } from '../../src/owners/socket-owners.js';
import { scan } from '../../src/scan.js';
import { holdSockets, stopAll, waitFor } from '../helpers/processes.js';

const why = nativeWalkUnavailableReason();
if (why !== null && process.env.PORTWATCH_REQUIRE_NATIVE === '1') throw new Error(`native walk tests cannot run: ${why}`);
const walker = nativeWalk() as NativeWalk;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
// A listener of its own (run as nobody): prints {"pid", "ports"} and runs until killed (60 s at most).
const LISTEN_JS = `const s = require('net').createServer().listen(0, '127.0.0.1', () =>
  console.log(JSON.stringify({ pid: process.pid, ports: [s.address().port] })));
setTimeout(() => process.exit(3), 60000);`;

const children: ChildProcess[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) process.kill(c.pid!, 'SIGKILL');
  await stopAll();
});

/** The inode of the socket listening on `port`, from the socket table (not from any fd walk). */
async function inodeOn(port: number): Promise<number> {
  const { listeners } = await scan({ source: 'procfs', owners: false });
  const l = listeners.find((x) => x.port === port);
  if (!l) throw new Error(`nothing listens on ${port}`);
  return l.inode;
}

function allPids(): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .sort((a, b) => b - a);
}

/** Starts `argv` and waits for its first stdout line; stopped by pid after the test. */
async function started(argv: string[], input = true): Promise<{ child: ChildProcess; line: string }> {
  const child = spawn(argv[0] as string, argv.slice(1), { stdio: [input ? 'pipe' : 'ignore', 'pipe', 'inherit'] });
  children.push(child);
  const exited = new Promise<never>((_, reject) => child.once('exit', (c) => reject(new Error(`${argv[0]} exited (${c})`))));
  const line = await Promise.race([new Promise<string>((r) => createInterface({ input: child.stdout! }).once('line', r)), exited]);
  return { child, line };
}

// A process holding `n` descriptors (dup()s of /dev/null, fewer if its hard limit says so);
// prints its pid and how many it holds, ends on stdin EOF.
const MANY_FDS_PY = `
import os, resource, sys
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
n = min(int(sys.argv[1]), hard - 64)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
fd = os.open('/dev/null', os.O_RDONLY)
for _ in range(n): os.dup(fd)
print(os.getpid(), n, flush=True)
sys.stdin.read()
`;

describe('the native walk', () => {
  it('is the walk PORTWATCH_WALK=js turns off', () => {
    const saved = process.env.PORTWATCH_WALK;
    process.env.PORTWATCH_WALK = 'js';
    try {
      expect(nativeWalk()).toBeNull();
      expect(nativeWalkUnavailableReason()).toBe('PORTWATCH_WALK=js');
    } finally {
      if (saved === undefined) delete process.env.PORTWATCH_WALK;
      else process.env.PORTWATCH_WALK = saved;
    }
  });
});

describe.skipIf(why !== null)('the native walk', () => {
  it('names the same owners as the JS walk for real sockets of real processes', async () => {
    const a = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
    const b = await holdSockets([
      { proto: 'udp', host: '127.0.0.1' },
      { proto: 'tcp', host: '::1' },
    ]);
    const inodes = await Promise.all([...a.ports, ...b.ports].map(inodeOn));
    const native = new SocketOwners('/proc', Date.now, walker);
    const js = new SocketOwners('/proc', Date.now, null);
    const fromNative = await native.resolve(inodes);
    const fromJs = await js.resolve(inodes);
    expect(fromNative).toEqual(fromJs);
    expect(inodes.map((i) => fromNative.get(i))).toEqual([[a.pid], [b.pid], [b.pid]]);
    expect(native.stats.walks).toBe(1);
    expect(native.stats.readlinks).toBeGreaterThan(0);
  });

  it('is used for walks over every process only: a process a kernel event named is read in JS', async () => {
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
    const calls: number[] = [];
    const spy: NativeWalk = (root, pids, wanted, threads, known) => {
      calls.push(pids.length);
      return walker(root, pids, wanted, threads, known);
    };
    const owners = new SocketOwners('/proc', Date.now, spy);
    const first = await owners.resolve([await inodeOn(holder.ports[0] as number)], { likely: [holder.pid] });
    expect([...first.values()]).toEqual([[holder.pid]]);
    expect(calls).toEqual([]);
    const { port } = await holder.open({ proto: 'tcp', host: '127.0.0.1' });
    const second = await owners.resolve([await inodeOn(port)]); // an owner before: the recent look (JS) finds it
    expect([...second.values()]).toEqual([[holder.pid]]);
    expect(calls).toEqual([]);
    const other = await holdSockets([]);
    const { port: theirs } = await other.open({ proto: 'udp', host: '127.0.0.1' });
    const third = await owners.resolve([await inodeOn(theirs)]);
    expect([...third.values()]).toEqual([[other.pid]]);
    expect(calls).toHaveLength(1);
    expect(owners.stats.walks).toBe(1);
  });

  it('stops at the first process when it holds every wanted socket', async () => {
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
    const inode = await inodeOn(holder.ports[0] as number);
    const pids = Int32Array.from([holder.pid, ...allPids().filter((p) => p !== holder.pid)]);
    const r = await walker('/proc', pids, Float64Array.of(inode), 4);
    expect(r.claimed).toBe(1);
    expect(pids.length).toBeGreaterThan(1);
    expect([...r.inodes]).toEqual([inode]);
    expect(pids[r.indexes[0] as number]).toBe(holder.pid);
    expect(readlinkSync(`/proc/${holder.pid}/fd/${r.fds[0]}`)).toBe(`socket:[${inode}]`);
  });

  it('reads on past a process that exits mid-walk', async () => {
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
    const inode = await inodeOn(holder.ports[0] as number);
    let cutShort = false;
    for (let attempt = 0; attempt < 3 && !cutShort; attempt++) {
      const big = await started(['python3', '-c', MANY_FDS_PY, '60000']);
      const [pid, n] = big.line.split(' ').map(Number) as [number, number];
      const exited = new Promise((r) => big.child.once('exit', r));
      const walking = walker('/proc', Int32Array.of(pid, holder.pid), Float64Array.of(inode), 1);
      // The walk has opened its fd directory (our own fd links there): kill it now.
      const reading = await waitFor(
        () => readdirSync('/proc/self/fd').some((fd) => safeReadlink(`/proc/self/fd/${fd}`) === `/proc/${pid}/fd`),
        'the walk to open the big process’s fd directory',
        10_000,
        1,
      ).then(
        () => true,
        () => false,
      );
      process.kill(pid, 'SIGKILL');
      const r = await walking;
      await exited;
      expect(r.claimed).toBe(2);
      expect([...r.indexes]).toEqual([1]);
      cutShort = reading && r.readlinks < n;
    }
    expect(cutShort).toBe(true);
  });

  it('skips processes it may not read (EACCES as nobody) and finds the holder after them', async (ctx) => {
    if (process.getuid?.() !== 0 || spawnSync('setpriv', ['--version']).status !== 0) {
      console.warn('skipped: needs root and setpriv to run as another user');
      return ctx.skip();
    }
    const rootHolder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
    const asNobody = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];
    const nobody = await started([...asNobody, process.execPath, '-e', LISTEN_JS]);
    const hello = JSON.parse(nobody.line) as { pid: number; ports: number[] };
    const theirs = await inodeOn(rootHolder.ports[0] as number);
    const mine = await inodeOn(hello.ports[0] as number);
    const pids = [rootHolder.pid, 1, hello.pid];
    const script = `
      const addon = require(${JSON.stringify(`${ROOT}native/build/Release/portwatch_sockdiag.node`)});
      const [pids, wanted] = JSON.parse(process.argv[1]);
      addon.fdWalk('/proc', Int32Array.from(pids), Float64Array.from(wanted), 2).then((r) =>
        console.log(JSON.stringify({ claimed: r.claimed, readlinks: r.readlinks, inodes: [...r.inodes], holders: [...r.indexes].map((i) => pids[i]) })));`;
    const r = spawnSync(
      asNobody[0] as string,
      [...asNobody.slice(1), process.execPath, '-e', script, JSON.stringify([pids, [theirs, mine]])],
      {
        encoding: 'utf8',
        timeout: 20_000,
      },
    );
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as { claimed: number; readlinks: number; inodes: number[]; holders: number[] };
    expect(out).toMatchObject({ claimed: 3, inodes: [mine], holders: [hello.pid] });
    // Only the nobody process's own fds were read: the others were refused before any readlink.
    expect(out.readlinks).toBe(readdirSync(`/proc/${hello.pid}/fd`).length);
  });

  it('refuses bad arguments with one TypeError, and rejects when procRoot cannot be opened', async () => {
    const call = walker as unknown as (...args: unknown[]) => Promise<unknown>;
    expect(() => call(42, Int32Array.of(1), Float64Array.of(1))).toThrow(/procRoot must be a non-empty path string/);
    expect(() => call('/proc', [1], Float64Array.of(1))).toThrow(/pids must be an Int32Array/);
    expect(() => call('/proc', Int32Array.of(1), Float64Array.of(-1))).toThrow(/inodes must be non-negative integers/);
    expect(() => call('/proc', Int32Array.of(1), Float64Array.of(1), 'two')).toThrow(/threads must be a number/);
    expect(() => call('/proc', Int32Array.of(1), Float64Array.of(1), 2, [1])).toThrow(/known must be a Float64Array/);
    await expect(walker('/nonexistent-proc', Int32Array.of(1), Float64Array.of(1))).rejects.toMatchObject({
      code: 'ENOENT',
      syscall: 'open',
      path: '/nonexistent-proc',
    });
    // Nothing to look for, or nowhere to look: nothing is opened.
    expect(await walker('/nonexistent-proc', Int32Array.of(), Float64Array.of(1))).toMatchObject({ claimed: 0, readlinks: 0 });
  });
});

function safeReadlink(path: string): string | null {
  try {
    return readlinkSync(path);
  } catch {
    return null;
  }
}
