import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { readdirSync, readlinkSync } from 'node:fs';
import net from 'node:net';
import { afterEach, describe, expect, it, type TestContext, vi } from 'vitest';
import { buildInetDiagRequest, TCP_LISTEN_STATES } from '../../src/parse/sock-diag.js';
import { loadSockDiagAddon, sockDiagUnavailableReason } from '../../src/sources/sock-diag-addon.js';
import { createSockDiagSource } from '../../src/sources/sock-diag.js';
import type { ChangeWatchStats, RawSocket, Source } from '../../src/sources/source.js';
import { waitFor } from '../helpers/processes.js';

const DEADLINE_MS = 10_000;

/** Cleanups run after each test, newest first: sockets closed, children killed by pid. */
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function skipWith(ctx: TestContext, reason: string): never {
  console.warn(`skipped "${ctx.task.name}": ${reason}`);
  return ctx.skip(reason);
}

function requireSource(ctx: TestContext): Source {
  const source = createSockDiagSource();
  if (source) return source;
  const reason = `native addon not built: ${sockDiagUnavailableReason() ?? 'unknown reason'}`;
  // CI builds the addon and sets this: there a missing addon fails instead of skipping.
  if (process.env.PORTWATCH_REQUIRE_NATIVE === '1') throw new Error(reason);
  return skipWith(ctx, reason);
}

function withDeadline<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${DEADLINE_MS} ms waiting for ${what}`)), DEADLINE_MS);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

async function listenTcp(options: net.ListenOptions): Promise<net.Server> {
  const server = net.createServer((socket) => cleanups.push(() => void socket.destroy()));
  await withDeadline(
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: 0, ...options }, resolve);
    }),
    `listen ${JSON.stringify(options)}`,
  );
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return server;
}

function portOf(server: net.Server): number {
  return (server.address() as net.AddressInfo).port;
}

async function bindUdp(type: 'udp4' | 'udp6', address: string): Promise<dgram.Socket> {
  const socket = dgram.createSocket(type);
  await withDeadline(
    new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, address, resolve);
    }),
    `bind ${type} ${address}`,
  );
  cleanups.push(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  return socket;
}

function onPort(sockets: readonly RawSocket[], protocol: 'tcp' | 'udp', port: number): RawSocket[] {
  return sockets.filter((s) => s.protocol === protocol && s.port === port);
}

/**
 * Runs a child that prints one line when ready and then waits for stdin to close, so it
 * also goes away if this test process dies. Returns the line; the child is killed by pid.
 */
async function spawnReady(command: string, args: string[]): Promise<{ child: ChildProcess; line: string }> {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  cleanups.push(() => killByPid(child));
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const line = await withDeadline(
    new Promise<string>((resolve, reject) => {
      let stdout = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('\n')) resolve(stdout.split('\n')[0]!.trim());
      });
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`${command} exited with ${code} before it was ready: ${stderr.trim()}`)));
    }),
    `${command} to become ready`,
  );
  return { child, line };
}

async function killByPid(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(child.pid, 'SIGKILL');
  await withDeadline(exited, `pid ${child.pid} to exit`);
}

const PYTHON_LISTENERS = String.raw`
import socket, sys
def listener(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind(('127.0.0.1', port))
    s.listen()
    return s
count = int(sys.argv[1])
first = listener(0)
port = first.getsockname()[1]
rest = [listener(port) for _ in range(count - 1)]
print(port, flush=True)
sys.stdin.read()
`;

describe('sockdiag source on real loopback sockets', () => {
  it('finds a tcp4 listener with its address, port, uid and an inode', async (ctx) => {
    const source = requireSource(ctx);
    expect(source.name).toBe('sockdiag');
    const server = await listenTcp({ host: '127.0.0.1' });
    const found = onPort(await source.scan({}), 'tcp', portOf(server));
    expect(found).toEqual([
      {
        protocol: 'tcp',
        family: 4,
        address: '127.0.0.1',
        port: portOf(server),
        inode: expect.any(Number),
        uid: process.getuid!(),
        v6only: null,
        interface: null,
      },
    ]);
    expect(found[0]!.inode).toBeGreaterThan(0);
  });

  it('tells a dual-stack [::] listener from a v6only one, and reports [::1]', async (ctx) => {
    const source = requireSource(ctx);
    const dual = await listenTcp({ host: '::', ipv6Only: false });
    const v6only = await listenTcp({ host: '::', ipv6Only: true });
    const loopback = await listenTcp({ host: '::1' });
    const sockets = await source.scan({});
    expect(onPort(sockets, 'tcp', portOf(dual))).toMatchObject([{ family: 6, address: '::', v6only: false }]);
    expect(onPort(sockets, 'tcp', portOf(v6only))).toMatchObject([{ family: 6, address: '::', v6only: true }]);
    expect(onPort(sockets, 'tcp', portOf(loopback))).toMatchObject([{ family: 6, address: '::1' }]);
  });

  it('finds bound udp4 and udp6 sockets but not a connected one', async (ctx) => {
    const source = requireSource(ctx);
    const udp4 = await bindUdp('udp4', '127.0.0.1');
    const udp6 = await bindUdp('udp6', '::1');
    const connected = await bindUdp('udp4', '127.0.0.1');
    await withDeadline(new Promise<void>((resolve) => connected.connect(udp4.address().port, '127.0.0.1', resolve)), 'udp connect');
    const sockets = await source.scan({});
    expect(onPort(sockets, 'udp', udp4.address().port)).toMatchObject([{ family: 4, address: '127.0.0.1', v6only: null }]);
    expect(onPort(sockets, 'udp', udp6.address().port)).toMatchObject([{ family: 6, address: '::1', v6only: true }]);
    expect(onPort(sockets, 'udp', connected.address().port)).toEqual([]);
  });

  it('leaves out both ends of an established TCP connection', async (ctx) => {
    const source = requireSource(ctx);
    const server = await listenTcp({ host: '127.0.0.1' });
    const accepted = new Promise<void>((resolve) => server.once('connection', () => resolve()));
    const client = net.connect({ host: '127.0.0.1', port: portOf(server) });
    cleanups.push(() => void client.destroy());
    await withDeadline(accepted, 'the connection to be accepted');
    const sockets = await source.scan({});
    expect(onPort(sockets, 'tcp', portOf(server))).toHaveLength(1);
    expect(onPort(sockets, 'tcp', client.localPort!)).toEqual([]);
  });

  it('reports two SO_REUSEPORT listeners on one port as two sockets', async (ctx) => {
    const source = requireSource(ctx);
    // Node 20's net.Server has no reusePort option; python3 sets SO_REUSEPORT itself.
    const { line } = await spawnReady('python3', ['-c', PYTHON_LISTENERS, '2']);
    const found = onPort(await source.scan({}), 'tcp', Number(line));
    expect(found).toHaveLength(2);
    expect(found.map((s) => s.address)).toEqual(['127.0.0.1', '127.0.0.1']);
    expect(new Set(found.map((s) => s.inode)).size).toBe(2);
  });

  it('reads a reply that spans many datagrams', async (ctx) => {
    const source = requireSource(ctx);
    // ~130 bytes a socket and at most 32 KiB a datagram: 1000 listeners need several.
    const { line } = await spawnReady('python3', ['-c', PYTHON_LISTENERS, '1000']);
    expect(onPort(await source.scan({}), 'tcp', Number(line))).toHaveLength(1000);
  });
});

describe('sockdiag source socket reuse', () => {
  const openFds = (): number => readdirSync('/proc/self/fd').length;

  it('keeps one netlink socket across scans and releases it on close()', async (ctx) => {
    const source = requireSource(ctx);
    const before = openFds();
    await source.scan({});
    expect(openFds()).toBe(before + 1);
    for (let i = 0; i < 20; i++) await source.scan({});
    expect(openFds()).toBe(before + 1);
    source.close?.();
    expect(openFds()).toBe(before);
    await source.scan({}); // usable again after close: a fresh socket
    expect(openFds()).toBe(before + 1);
    source.close?.();
  });

  it('answers each request on a reused socket with its own sequence number', async (ctx) => {
    requireSource(ctx);
    const addon = loadSockDiagAddon()!;
    const fd = addon.openSocket();
    cleanups.push(() => addon.closeSocket(fd));
    const server = await listenTcp({ host: '127.0.0.1', port: 0 });
    const port = (server.address() as net.AddressInfo).port;
    for (const seq of [100, 101, 102]) {
      const reply = addon.dumpOn(fd, buildInetDiagRequest({ family: 4, protocol: 'tcp', states: TCP_LISTEN_STATES, seq }));
      expect(reply.readUInt32LE(8)).toBe(seq);
      expect(reply.includes(Buffer.from([port >> 8, port & 0xff]))).toBe(true);
    }
  });

  it('throws a system error for a descriptor that is not open', (ctx) => {
    requireSource(ctx);
    const addon = loadSockDiagAddon()!;
    const fd = addon.openSocket();
    addon.closeSocket(fd);
    expect(() => addon.dumpOn(fd, buildInetDiagRequest({ family: 4, protocol: 'tcp', states: TCP_LISTEN_STATES, seq: 1 }))).toThrow(
      expect.objectContaining({ code: 'EBADF', syscall: 'sendto' }),
    );
  });
});

describe('sockdiag source in another network namespace', () => {
  const NETNS_LISTENER = String.raw`
import socket, sys
s = socket.socket()
s.bind(('127.0.0.1', 0))
s.listen()
print(s.getsockname()[1], flush=True)
sys.stdin.read()
`;

  async function spawnInNewNetns(ctx: TestContext): Promise<{ pid: number; port: number }> {
    const probe = spawnSync('unshare', ['--net', 'true'], { encoding: 'utf8' });
    if (probe.status !== 0) {
      skipWith(ctx, `unshare --net is not permitted here (${(probe.stderr || String(probe.error)).trim()}); needs root`);
    }
    // unshare execs sh, which execs python3: the pid stays the same and lives in the new netns.
    const { child, line } = await spawnReady('unshare', ['--net', 'sh', '-c', 'ip link set lo up && exec python3 -c "$0"', NETNS_LISTENER]);
    return { pid: child.pid!, port: Number(line) };
  }

  it('sees exactly the listener inside the namespace, and returns to our own', async (ctx) => {
    const source = requireSource(ctx);
    const { pid, port } = await spawnInNewNetns(ctx);
    const ownNetns = readlinkSync('/proc/thread-self/ns/net');
    const sockets = await source.scan({ netnsPid: pid });
    expect(readlinkSync('/proc/thread-self/ns/net')).toBe(ownNetns);
    expect(sockets).toEqual([
      { protocol: 'tcp', family: 4, address: '127.0.0.1', port, inode: expect.any(Number), uid: 0, v6only: null, interface: null },
    ]);
    // Our own namespace does not have it (unless the kernel reused the port number, which
    // is why the inode is compared too).
    const own = onPort(await source.scan({}), 'tcp', port);
    expect(own.filter((s) => s.inode === sockets[0]!.inode)).toEqual([]);
  });

  it('reports a pid that does not exist as ENOPROCESS', async (ctx) => {
    const source = requireSource(ctx);
    const missing = 2 ** 22 + 1; // above pid_max's ceiling: never a live process
    await expect(source.scan({ netnsPid: missing })).rejects.toMatchObject({
      code: 'ENOPROCESS',
      message: `no process with pid ${missing}`,
    });
  });

  it('rejects a pid that is not a positive integer', async (ctx) => {
    const source = requireSource(ctx);
    await expect(source.scan({ netnsPid: -1 })).rejects.toMatchObject({ code: 'EUSAGE' });
    await expect(source.scan({ netnsPid: 1.5 })).rejects.toMatchObject({ code: 'EUSAGE' });
  });

  it('makes the addon throw EPERM from setns without CAP_SYS_ADMIN', async (ctx) => {
    if (!loadSockDiagAddon()) skipWith(ctx, `native addon not built: ${sockDiagUnavailableReason() ?? ''}`);
    if (process.getuid!() !== 0) skipWith(ctx, 'needs root to start a child as an unprivileged user');
    // The child enters its own namespace: opening it is allowed, setns needs the capability.
    const request = buildInetDiagRequest({ family: 4, protocol: 'tcp', states: TCP_LISTEN_STATES, seq: 1 }).toString('hex');
    const addonPath = new URL('../../native/build/Release/portwatch_sockdiag.node', import.meta.url).pathname;
    const script = `
      const addon = require(${JSON.stringify(addonPath)});
      const request = Buffer.from(${JSON.stringify(request)}, 'hex');
      let failure = null;
      try { addon.dump(request, '/proc/' + process.pid + '/ns/net'); } catch (e) { failure = { code: e.code, syscall: e.syscall, message: e.message }; }
      const after = addon.dump(request).length > 0;
      console.log(JSON.stringify({ failure, after }));`;
    const run = spawnSync(process.execPath, ['-e', script], { uid: 65534, gid: 65534, encoding: 'utf8', timeout: DEADLINE_MS });
    if (run.status !== 0) skipWith(ctx, `cannot run node as uid 65534: ${run.stderr.trim()}`);
    expect(JSON.parse(run.stdout)).toEqual({
      failure: { code: 'EPERM', syscall: 'setns', message: expect.stringMatching(/^setns \/proc\/\d+\/ns\/net: Operation not permitted$/) },
      after: true,
    });
  });
});

/** Looks a change watch has taken (0 once stopped). */
function looksOf(watch: { stats(): ChangeWatchStats }): number {
  const stats = watch.stats();
  return stats.running ? stats.looks : 0;
}

describe('sockdiag replies that did not change', () => {
  // In a namespace of its own, so that no other program's sockets change the table meanwhile.
  const SCRIPT = String.raw`
import socket, sys
quiet = socket.socket()
quiet.bind(('127.0.0.1', 0))
quiet.listen(8)  # never accepts: each connection waits in its queue
print(quiet.getsockname()[1], flush=True)
held = []
for line in sys.stdin:
    if line.strip() == 'connect':
        c = socket.create_connection(quiet.getsockname()); held.append(c); print('ok', flush=True)
    elif line.strip() == 'listen':
        l = socket.socket(); l.bind(('127.0.0.1', 0)); l.listen(); held.append(l); print(l.getsockname()[1], flush=True)
    elif line.strip() == 'close':
        held.pop().close(); print('ok', flush=True)
`;

  async function namespace(ctx: TestContext): Promise<{ pid: number; port: number; ask: (what: string) => Promise<string> }> {
    const probe = spawnSync('unshare', ['--net', 'true'], { encoding: 'utf8' });
    if (probe.status !== 0)
      skipWith(ctx, `unshare --net is not permitted here (${(probe.stderr || String(probe.error)).trim()}); needs root`);
    const { child, line } = await spawnReady('unshare', ['--net', 'sh', '-c', 'ip link set lo up && exec python3 -c "$0"', SCRIPT]);
    const lines: string[] = [];
    child.stdout?.on('data', (chunk: Buffer) =>
      lines.push(
        ...chunk
          .toString()
          .split('\n')
          .filter((l) => l !== ''),
      ),
    );
    const ask = async (what: string): Promise<string> => {
      const before = lines.length;
      child.stdin?.write(`${what}\n`);
      const deadline = Date.now() + DEADLINE_MS;
      while (lines.length === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      if (lines.length === before) throw new Error(`no answer to ${what}`);
      return lines[lines.length - 1]!;
    };
    return { pid: child.pid!, port: Number(line), ask };
  }

  const portBytes = (port: number): Buffer => Buffer.from([port >> 8, port & 0xff]);

  it('the addon hands back the previous reply while only queue lengths change, and a new one when a socket opens', async (ctx) => {
    requireSource(ctx);
    const ns = await namespace(ctx);
    const addon = loadSockDiagAddon()!;
    const fd = addon.openSocket(`/proc/${ns.pid}/ns/net`);
    cleanups.push(() => addon.closeSocket(fd));
    const request = (seq: number): Buffer => buildInetDiagRequest({ family: 4, protocol: 'tcp', states: TCP_LISTEN_STATES, seq });
    const first = addon.dumpOn(fd, request(1), null);
    expect(first.readUInt32LE(8)).toBe(0); // the sequence number is zeroed in a compared reply
    expect(first.includes(portBytes(ns.port))).toBe(true);
    expect(addon.dumpOn(fd, request(2), first)).toBe(first);
    await ns.ask('connect'); // the listener's accept queue: 0 → 1
    expect(addon.dumpOn(fd, request(3), first)).toBe(first);
    expect(addon.dumpOn(fd, request(4)).equals(first)).toBe(false); // uncompared: the queue length is there
    const port = Number(await ns.ask('listen'));
    const changed = addon.dumpOn(fd, request(5), first);
    expect(changed).not.toBe(first);
    expect(changed.includes(portBytes(port))).toBe(true);
    expect(() => addon.dumpOn(fd, request(6), 'x' as unknown as Buffer)).toThrow(/previous must be a Buffer or null/);
  });

  it('the change poller says when the table changed, never when only queues did, and stops at once', async (ctx) => {
    const source = requireSource(ctx);
    const ns = await namespace(ctx);
    const tasks = (): number => readdirSync('/proc/self/task').length;
    const threadsBefore = tasks();
    let changes = 0;
    const failures: Error[] = [];
    const watch = source.watchChanges!(
      { netnsPid: ns.pid },
      { cpuBudget: 0.003, minMs: 10, maxMs: 1000, fixedMs: 10 },
      () => changes++,
      (e) => failures.push(e),
    );
    expect(watch).not.toBeNull();
    cleanups.push(() => watch!.stop());
    expect(tasks()).toBe(threadsBefore + 1);
    const looksAfter = async (n: number): Promise<void> => {
      const target = looksOf(watch!) + n;
      await waitFor(() => looksOf(watch!) >= target, `${n} more looks`, DEADLINE_MS, 5);
    };
    await looksAfter(3);
    await ns.ask('connect'); // only the accept queue grows
    await looksAfter(3);
    expect(changes).toBe(0);
    await ns.ask('listen');
    await waitFor(() => changes > 0, 'a change after a listen()', DEADLINE_MS, 5);
    expect(watch!.stats()).toMatchObject({ running: true, intervalMs: 10, changes: 1 });
    await ns.ask('close');
    await waitFor(() => (watch!.stats() as { changes?: number }).changes === 2, 'a change after a close()', DEADLINE_MS, 5);
    watch!.stop();
    expect(watch!.stats()).toEqual({ running: false });
    expect(tasks()).toBe(threadsBefore);
    watch!.stop(); // idempotent
    expect(failures).toEqual([]);
  });

  it('the change poller prices its interval on its own CPU, within the bounds', async (ctx) => {
    const source = requireSource(ctx);
    const ns = await namespace(ctx);
    const start = (cpuBudget: number): NonNullable<ReturnType<NonNullable<Source['watchChanges']>>> => {
      const watch = source.watchChanges!(
        { netnsPid: ns.pid },
        { cpuBudget, minMs: 20, maxMs: 50 },
        () => {},
        () => {},
      );
      cleanups.push(() => watch!.stop());
      return watch!;
    };
    const cheap = start(1); // 100 % of a core: any cost is within it, so the floor
    const dear = start(1e-9); // nothing is within it: the ceiling
    await waitFor(() => looksOf(cheap) >= 3 && looksOf(dear) >= 3, 'three looks each', DEADLINE_MS, 5);
    expect(cheap.stats()).toMatchObject({ running: true, intervalMs: 20 });
    expect(dear.stats()).toMatchObject({ running: true, intervalMs: 50 });
    expect((dear.stats() as { lastLookUs: number }).lastLookUs).toBeGreaterThan(0);
  });

  it('with a table too dear to look at every wake, the poller reads the socket counts and looks when they move: a look that finds a change is paid by it, one that finds nothing spends credit', async (ctx) => {
    const source = requireSource(ctx);
    const ns = await namespace(ctx);
    let changes = 0;
    const failures: Error[] = [];
    // No look fits this budget: its interval is the ceiling (10 minutes), so only the counts
    // can make it look before then. It starts with two looks' credit, one of which priced the
    // table when it started; the budget accrues next to nothing after that.
    const watch = source.watchChanges!(
      { netnsPid: ns.pid },
      { cpuBudget: 1e-9, minMs: 10, maxMs: 600_000 },
      () => changes++,
      (e) => failures.push(e),
    )!;
    cleanups.push(() => watch.stop());
    const stats = (): Extract<ChangeWatchStats, { running: true }> => watch.stats() as Extract<ChangeWatchStats, { running: true }>;
    const countedAfter = async (n: number): Promise<void> => {
      const target = stats().counted + n;
      await waitFor(() => stats().counted >= target, `${n} more reads of the counts`, DEADLINE_MS, 5);
    };
    await countedAfter(3); // its first look, when it started, priced the table: it counts from then on
    expect(stats().intervalMs).toBe(600_000);
    const looks = stats().looks;
    await countedAfter(5);
    expect(stats().looks).toBe(looks); // nothing moved: no look
    // Listeners that open and close one after another: each look finds its change, which
    // pays for it, so the credit is still there for the next.
    for (const [what, n] of [
      ['listen', 1],
      ['close', 2],
      ['listen', 3],
      ['close', 4],
    ] as const) {
      await ns.ask(what);
      await waitFor(() => changes === n, `the ${what}() seen through the counts`, DEADLINE_MS, 5);
      expect(stats().looks).toBe(looks + n);
    }
    // A connection moves the counts but not the table: that look finds nothing and spends the
    // last look's credit.
    await ns.ask('connect');
    await waitFor(() => stats().looks === looks + 5, 'a look after the connection', DEADLINE_MS, 5);
    expect(changes).toBe(4);
    // Now the counts move and there is no credit: a second connection, then even a listen(),
    // wait for the ceiling.
    await ns.ask('connect');
    await countedAfter(10);
    await ns.ask('listen');
    await countedAfter(10);
    expect(stats().looks).toBe(looks + 5);
    expect(changes).toBe(4);
    expect(failures).toEqual([]);
  });

  it('counting, the poller still looks every two intervals when nothing moves the counts', async (ctx) => {
    const source = requireSource(ctx);
    const ns = await namespace(ctx);
    // A look in this small namespace costs ~50-150 µs: at 0.01 % its interval is 0.5-1.5 s,
    // well above minMs, so it counts; with the ceiling at 10 minutes only the two-interval
    // look can make it look while the namespace stays quiet.
    const watch = source.watchChanges!(
      { netnsPid: ns.pid },
      { cpuBudget: 1e-4, minMs: 10, maxMs: 600_000 },
      () => {},
      () => {},
    )!;
    cleanups.push(() => watch.stop());
    const stats = (): Extract<ChangeWatchStats, { running: true }> => watch.stats() as Extract<ChangeWatchStats, { running: true }>;
    await waitFor(() => stats().counted >= 3, 'reads of the counts', DEADLINE_MS, 5);
    expect(stats().intervalMs).toBeGreaterThan(10);
    const looks = stats().looks;
    await waitFor(() => stats().looks >= looks + 2, 'two looks with the counts still', 4 * DEADLINE_MS, 20);
    expect(stats().changes).toBe(0);
    expect(stats().counted).toBeGreaterThan(10 * 2); // most wakes were the counts alone
  }, 60_000);

  it('the poller without counts it can read looks at every wake, as before; a netDir that is no string is a TypeError', async (ctx) => {
    requireSource(ctx);
    const addon = loadSockDiagAddon()!;
    const fd = addon.openSocket();
    cleanups.push(() => addon.closeSocket(fd));
    const requests = [buildInetDiagRequest({ family: 4, protocol: 'tcp', states: TCP_LISTEN_STATES, seq: 1 })];
    const policy = { cpuBudget: 1e-9, minMs: 10, maxMs: 30 };
    expect(() => addon.pollStart!(fd, requests, policy, () => {}, 42 as unknown as string)).toThrow(/netDir must be a string/);
    const handle = addon.pollStart!(fd, requests, policy, () => {}, '/nonexistent/net');
    cleanups.push(() => addon.pollStop!(handle));
    await waitFor(() => looksOf({ stats: () => addon.pollStats!(handle) }) >= 4, 'four looks', DEADLINE_MS, 5);
    expect(addon.pollStats!(handle)).toMatchObject({ running: true, intervalMs: 30, counted: 0 });
  });

  it('the source hands back the same array while nothing changed, and a new one when a socket opens or closes', async (ctx) => {
    const source = requireSource(ctx);
    cleanups.push(() => source.close?.());
    const ns = await namespace(ctx);
    const target = { netnsPid: ns.pid };
    const first = await source.scan(target);
    expect(onPort(first, 'tcp', ns.port)).toHaveLength(1);
    expect(await source.scan(target)).toBe(first);
    await ns.ask('connect');
    expect(await source.scan(target)).toBe(first);
    const port = Number(await ns.ask('listen'));
    const opened = await source.scan(target);
    expect(opened).not.toBe(first);
    expect(onPort(opened, 'tcp', port)).toHaveLength(1);
    expect(await source.scan(target)).toBe(opened);
    await ns.ask('close');
    const closed = await source.scan(target);
    expect(closed).not.toBe(opened);
    expect(onPort(closed, 'tcp', port)).toHaveLength(0);
  });
});

describe('sockdiag source errors', () => {
  afterEach(() => {
    vi.doUnmock('../../src/sources/sock-diag-addon.js');
    vi.resetModules();
  });

  /**
   * The source with an addon whose socket and dumps do what the test says: `open` may throw
   * for openSocket(); `dump` answers each request with the namespace path the socket was opened for.
   */
  async function sourceWith(
    dump: (request: Buffer, netnsPath?: string) => Buffer,
    open: (netnsPath?: string) => void = () => {},
  ): Promise<Source> {
    vi.resetModules();
    let path: string | undefined;
    const addon = {
      dump,
      openSocket: (netnsPath?: string) => {
        open(netnsPath);
        path = netnsPath;
        return 7;
      },
      dumpOn: (_fd: number, request: Buffer) => dump(request, path),
      closeSocket: () => {},
    };
    vi.doMock('../../src/sources/sock-diag-addon.js', () => ({ loadSockDiagAddon: () => addon }));
    const { createSockDiagSource: create } = await import('../../src/sources/sock-diag.js');
    return create()!;
  }

  function systemError(code: string, syscall: string, message: string): Error {
    return Object.assign(new Error(message), { code, syscall });
  }

  it('explains EPERM from setns: another namespace needs root', async () => {
    const source = await sourceWith(
      () => Buffer.alloc(0),
      () => {
        throw systemError('EPERM', 'setns', 'setns /proc/42/ns/net: Operation not permitted');
      },
    );
    const error = await source.scan({ netnsPid: 42 }).catch((e: unknown) => e);
    // resetModules gave the source its own copy of errors.js, so compare by name, not class.
    expect(error).toMatchObject({
      name: 'PortwatchError',
      code: 'ESCAN',
      message: expect.stringContaining('needs root (CAP_SYS_ADMIN)'),
    });
    expect((error as Error).message).toContain('use --source procfs');
  });

  it('tells a missing namespace file from a kernel without a diag handler', async () => {
    const missing = await sourceWith(
      () => Buffer.alloc(0),
      () => {
        throw systemError('ENOENT', 'open', 'open /proc/42/ns/net: No such file or directory');
      },
    );
    await expect(missing.scan({ netnsPid: 42 })).rejects.toMatchObject({ code: 'ENOPROCESS', message: 'no process with pid 42' });
    const noHandler = await sourceWith(() => {
      throw systemError('ENOENT', 'sock_diag', 'sock_diag: No such file or directory');
    });
    await expect(noHandler.scan({})).rejects.toMatchObject({
      code: 'ESCAN',
      message: expect.stringContaining('refused the sock_diag dump of tcp/IPv4'),
    });
  });

  it('rejects a reply that never reached NLMSG_DONE', async () => {
    const source = await sourceWith(() => Buffer.alloc(0));
    await expect(source.scan({})).rejects.toMatchObject({ code: 'ESCAN', message: expect.stringContaining('before NLMSG_DONE') });
  });

  it('passes the namespace path of the pid and the four requests', async () => {
    const calls: [number, number, string | undefined][] = [];
    const done = Buffer.from('140000000300020001000000cb0f000000000000', 'hex');
    const source = await sourceWith((request, netnsPath) => {
      calls.push([request[16]!, request[17]!, netnsPath]);
      return done;
    });
    expect(await source.scan({ netnsPid: 42 })).toEqual([]);
    const path = '/proc/42/ns/net';
    expect(calls).toEqual([
      [2, 6, path],
      [10, 6, path],
      [2, 17, path],
      [10, 17, path],
    ]);
  });
});

describe('sockdiag addon loading', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('is disabled by PORTWATCH_NO_NATIVE=1, and says so', () => {
    vi.stubEnv('PORTWATCH_NO_NATIVE', '1');
    expect(loadSockDiagAddon()).toBeNull();
    expect(createSockDiagSource()).toBeNull();
    expect(sockDiagUnavailableReason()).toBe('disabled by PORTWATCH_NO_NATIVE=1');
  });

  it('gives a reason exactly when the addon is unavailable', () => {
    expect(loadSockDiagAddon() === null).toBe(sockDiagUnavailableReason() !== null);
  });
});
