import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { PortwatchError } from '../src/errors.js';
import { confirmHolders, plan } from '../src/free-port-plan.js';
import { describeAction, freePort, parseSignal, type PidAction } from '../src/free-port.js';
import type { Listener } from '../src/listener.js';
import { scan } from '../src/scan.js';
import { delayedSearch, withOwnerSearch } from './helpers/late-owners.js';
import { holdSockets, stopAll, waitFor } from './helpers/processes.js';
import { unusedPort } from './helpers/sockets.js';
import { startStubborn, stopStubborn } from './helpers/stubborn-server.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  await stopStubborn();
  await stopAll();
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('freePort', () => {
  it('finds the owner when the owner search is slow (a busy host): its own rescans do not make it give up', async () => {
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
    const port = holder.ports[0] as number;
    // The real search, 150 ms slower: a busy host's walk (~0.3 s) while freePort asks for looks every 100 ms.
    const result = await withOwnerSearch(delayedSearch(150), () => freePort(port, { dryRun: true, interval: 100 }));
    expect(result.actions.map((a) => a.pid)).toEqual([holder.pid]);
  });

  it('sends SIGTERM to the owner and reports it stopped once the table shows the port free', async () => {
    const holder = await holdSockets([{ proto: 'tcp', host: '::1' }]);
    const port = holder.ports[0] as number;
    const result = await freePort(port, { grace: 10_000 });
    expect(result.free).toBe(true);
    expect(result.ports).toEqual([{ port, free: true, listeners: [] }]);
    expect(result.actions).toMatchObject([{ pid: holder.pid, name: 'python3', signals: ['SIGTERM'], outcome: 'stopped', reason: null }]);
    expect(result.actions[0]?.listeners.map((l) => [l.address, l.port])).toEqual([['::1', port]]);
    expect(result.actions[0]?.ms).toBeLessThan(10_000);
  });

  it('sends SIGKILL after the grace period to a server that ignores SIGTERM', async () => {
    const stubborn = await startStubborn();
    const started = performance.now();
    const result = await freePort(stubborn.port, { grace: 400 });
    expect(performance.now() - started).toBeGreaterThanOrEqual(400);
    expect(result.free).toBe(true);
    expect(result.actions).toMatchObject([{ pid: stubborn.pid, signals: ['SIGTERM', 'SIGKILL'], outcome: 'killed' }]);
    expect(result.actions[0]?.ms).toBeGreaterThanOrEqual(400);
    expect(await stubborn.ended).toBe('SIGKILL');
  });

  it('frees UDP ports with protocol udp, and leaves them alone by default (TCP)', async () => {
    const holder = await holdSockets([{ proto: 'udp', host: '127.0.0.1' }]);
    const port = holder.ports[0] as number;
    const tcpOnly = await freePort(port, { grace: 1_000 });
    expect(tcpOnly).toEqual({ free: true, ports: [{ port, free: true, listeners: [] }], actions: [] });
    expect(alive(holder.pid)).toBe(true);
    const udp = await freePort([port], { protocol: 'udp', grace: 10_000 });
    expect(udp.free).toBe(true);
    expect(udp.actions).toMatchObject([{ pid: holder.pid, outcome: 'stopped' }]);
  });

  it('dryRun signals nothing and says what would be signalled', async () => {
    const stubborn = await startStubborn();
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
    const ports = [stubborn.port, holder.ports[0] as number];
    const result = await freePort(ports, { dryRun: true });
    expect(result.free).toBe(false);
    expect(result.actions.map((a) => [a.pid, a.outcome, a.signals]).sort()).toEqual(
      [
        [stubborn.pid, 'would-signal', []],
        [holder.pid, 'would-signal', []],
      ].sort(),
    );
    expect(result.ports.map((p) => p.free)).toEqual([false, false]);
    expect(stubborn.alive() && alive(holder.pid)).toBe(true);
  });

  it('never signals portwatch itself, even with force', async () => {
    const server = createServer();
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const result = await freePort(port, { force: true, grace: 100 });
    expect(result.free).toBe(false);
    expect(result.actions).toMatchObject([{ pid: process.pid, outcome: 'refused', reason: 'it is this portwatch itself', signals: [] }]);
    expect(result.ports[0]?.listeners.map((l) => l.process?.pid)).toEqual([process.pid]);
    expect(server.listening).toBe(true);
  });

  it('a port nothing listens on is free already', async () => {
    const port = await unusedPort();
    expect(await freePort(port)).toEqual({ free: true, ports: [{ port, free: true, listeners: [] }], actions: [] });
  });

  it('stops waiting when its signal aborts, long before the grace period ends', async () => {
    const stubborn = await startStubborn();
    const started = performance.now();
    const error = await freePort(stubborn.port, { grace: 20_000, signal: AbortSignal.timeout(500) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PortwatchError);
    expect((error as PortwatchError).code).toBe('EABORTED');
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it.each([
    [0, {}, 'invalid port 0: use 1-65535'],
    [[], {}, 'no port to free'],
    [80, { grace: -1 }, 'invalid grace -1: use ms ≥ 0'],
    [80, { killSignal: 'SIGFOO' as NodeJS.Signals }, "invalid signal 'SIGFOO'"],
    [80, { protocol: 'sctp' as 'tcp' }, "invalid protocol 'sctp'"],
  ])('refuses bad input before looking: %j %j', async (port, options, message) => {
    await expect(freePort(port, options)).rejects.toMatchObject({ code: 'EUSAGE', message });
  });
});

describe('plan: who would be signalled', () => {
  const listener = (pid: number | null, extra: Record<string, unknown> = {}): Listener =>
    ({
      protocol: 'tcp',
      family: 4,
      address: '127.0.0.1',
      port: 8080,
      dualStack: false,
      interface: null,
      inode: 7,
      uid: 0,
      netns: null,
      process: pid === null ? null : { pid, ppid: 1, name: `p${pid}`, command: `p${pid}`, uid: 0 },
      ...extra,
    }) as Listener;

  it('refuses an unknown owner, pid 1 and portwatch (itself and its parent) unless forced; one action per pid', () => {
    const found = [
      listener(null),
      listener(1),
      listener(process.pid),
      listener(process.ppid),
      listener(4_000_000),
      listener(4_000_000, { port: 8081 }),
    ];
    const actions = plan(found, false);
    expect(actions.map((a) => [a.pid, a.outcome, a.listeners.length])).toEqual([
      [null, 'refused', 1],
      [1, 'refused', 1],
      [process.pid, 'refused', 1],
      [process.ppid, 'refused', 1],
      [4_000_000, 'would-signal', 2],
    ]);
    expect(actions[0]?.reason).toMatch(/^owner unknown: /);
    expect(actions[1]?.reason).toBe('pid 1 (init) is not signalled unless forced (--force)');
    expect(actions[3]?.reason).toBe(`it is an ancestor of this portwatch (pid ${process.pid}); forcing (--force) signals it anyway`);
    const forced = plan(found, true);
    expect(forced.map((a) => a.outcome)).toEqual(['refused', 'would-signal', 'refused', 'would-signal', 'would-signal']);
  });

  it('signals every holder of a shared socket when the listener lists them (a master and its workers)', () => {
    const shared = listener(4_000_001, {
      holders: [
        { pid: 4_000_001, name: 'master' },
        { pid: 4_000_002, name: 'worker' },
        { pid: 4_000_003, name: 'worker' },
      ],
    });
    expect(plan([shared], false).map((a) => [a.pid, a.name, a.outcome])).toEqual([
      [4_000_001, 'p4000001', 'would-signal'], // the owner, as its process is named
      [4_000_002, 'worker', 'would-signal'],
      [4_000_003, 'worker', 'would-signal'],
    ]);
  });
});

describe('parseSignal and describeAction', () => {
  it.each([
    ['TERM', 'SIGTERM'],
    ['sigterm', 'SIGTERM'],
    [' kill ', 'SIGKILL'],
    ['9', 'SIGKILL'],
    ['15', 'SIGTERM'],
    ['HUP', 'SIGHUP'],
  ])('%j is %s', (text, name) => expect(parseSignal(text)).toBe(name));

  it.each(['FOO', '', '999', 'SIG'])('refuses %j with one line', (text) => {
    expect(() => parseSignal(text)).toThrow(`invalid signal '${text}': use a name such as TERM, INT, HUP, KILL or a number`);
  });

  it('says what was done in one line, control characters escaped', () => {
    const l = { protocol: 'tcp', family: 6, address: '::1', port: 3000 } as Listener;
    const base: PidAction = { pid: 12, name: 'no\u001bde', listeners: [l], signals: [], outcome: 'stopped', reason: null, ms: 40 };
    expect(describeAction({ ...base, signals: ['SIGTERM'] })).toBe('pid 12 (no\\x1bde) tcp [::1]:3000: sent SIGTERM; let go after 40 ms');
    expect(describeAction({ ...base, signals: ['SIGTERM', 'SIGKILL'], outcome: 'killed', ms: 520 }, { grace: 500 })).toBe(
      'pid 12 (no\\x1bde) tcp [::1]:3000: sent SIGTERM, still holding after 500 ms, sent SIGKILL; let go after 520 ms',
    );
    expect(describeAction({ ...base, outcome: 'would-signal' }, { killSignal: 'SIGHUP' })).toBe(
      'pid 12 (no\\x1bde) tcp [::1]:3000: would be sent SIGHUP (dry run)',
    );
    expect(describeAction({ ...base, pid: null, name: null, outcome: 'refused', reason: 'owner unknown: x' })).toBe(
      'tcp [::1]:3000: refused: owner unknown: x',
    );
  });
});

describe('freePort on a pre-forked server (a master and its workers share the socket)', () => {
  it('signals every holder, master and workers, and the port is free', async () => {
    const script = `
import os, socket, sys, time, threading
threading.Timer(120, lambda: os._exit(3)).start()
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
workers = []
for _ in range(2):
    pid = os.fork()
    if pid == 0:
        time.sleep(120); os._exit(0)
    workers.append(pid)
print(s.getsockname()[1], " ".join(map(str, workers)), flush=True)
time.sleep(120)
`;
    const { spawn } = await import('node:child_process');
    const master = spawn('python3', ['-c', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    master.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const workers: number[] = [];
    try {
      const line = await waitFor(() => (out.includes('\n') ? out.split('\n')[0]?.trim() : undefined), 'the server to listen');
      const [port, ...pids] = line.split(/\s+/).map(Number) as [number, ...number[]];
      workers.push(...pids);
      const result = await freePort(port, { grace: 10_000 });
      expect(result.free).toBe(true);
      expect(result.actions.map((a) => [a.pid, a.outcome]).sort(), JSON.stringify({ line, master: master.pid })).toEqual(
        [master.pid, ...workers].map((p) => [p, 'stopped']).sort(),
      );
    } finally {
      for (const pid of [...workers, master.pid as number]) if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
  });
});

describe('confirmHolders: a process is signalled only while it holds the socket', () => {
  it('a pid the table remembers but that no longer holds the socket is gone, not signalled', async () => {
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
    const [real] = (await scan()).listeners.filter((l) => l.port === holder.ports[0]);
    expect(real?.process?.pid).toBe(holder.pid);
    const stale = { ...(real as Listener), inode: 1 }; // as if the pid were reused by a process without that socket
    const actions = plan([real as Listener, stale], false);
    expect(actions).toHaveLength(1); // one pid, two listeners
    confirmHolders(actions);
    expect(actions[0]?.outcome).toBe('would-signal'); // it holds one of them
    const onlyStale = plan([stale], false);
    confirmHolders(onlyStale);
    expect(onlyStale).toMatchObject([{ pid: holder.pid, outcome: 'gone', reason: 'no longer holds the socket (exited or closed it)' }]);
    expect(alive(holder.pid)).toBe(true);
  });
});
