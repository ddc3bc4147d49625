import { afterEach, describe, expect, it } from 'vitest';
import { listenerKey, type Listener } from '../src/listener.js';
import { Scanner, scan, selectSource } from '../src/scan.js';
import { createProcNetSource } from '../src/sources/proc-net.js';
import type { SourceName } from '../src/sources/source.js';
import { holdSockets, netnsSupport, stopAll, waitFor, type SocketSpec } from './helpers/processes.js';

afterEach(stopAll);

const SOURCES: SourceName[] = ['sockdiag', 'procfs', 'ss'];

function availability(name: SourceName): string | null {
  try {
    selectSource(name);
    return null;
  } catch (e) {
    // CI builds the addon and sets this: there a missing sockdiag is a failure, not a skip.
    if (name === 'sockdiag' && process.env.PORTWATCH_REQUIRE_NATIVE === '1') throw e;
    return (e as Error).message;
  }
}

const SPECS: SocketSpec[] = [
  { proto: 'tcp', host: '127.0.0.1' },
  { proto: 'tcp', host: '::1' },
  { proto: 'tcp', host: '::', v6only: false },
  { proto: 'tcp', host: '::', v6only: true },
  { proto: 'tcp', host: '::ffff:127.0.0.1' },
  { proto: 'udp', host: '127.0.0.1' },
  { proto: 'udp', host: '::1' },
  { proto: 'tcp', host: '127.0.0.1', connect: true }, // its ESTABLISHED pair must not show
  { proto: 'udp', host: '127.0.0.1', connect: true }, // connected UDP is no listener
];

const describeListener = (l: Listener): string => `${l.protocol}${l.family} ${l.address} ${l.port}${l.dualStack === true ? ' dual' : ''}`;

/** What a source must report for the SPECS held on `ports`. */
function expected(ports: number[]): string[] {
  const p = (i: number) => ports[i] as number;
  return [
    `tcp4 127.0.0.1 ${p(0)}`,
    `tcp6 ::1 ${p(1)}`,
    `tcp6 :: ${p(2)}`, // dual-stack; not every source can tell
    `tcp6 :: ${p(3)}`,
    `tcp6 ::ffff:127.0.0.1 ${p(4)}`,
    `udp4 127.0.0.1 ${p(5)}`,
    `udp6 ::1 ${p(6)}`,
    `tcp4 127.0.0.1 ${p(7)}`,
  ].sort();
}

const plain = (l: Listener) => describeListener(l).replace(' dual', '');

describe.each(SOURCES)('scan with source %s, real sockets on loopback', (source) => {
  it('finds tcp4, tcp6, dual-stack, udp4 and udp6 listeners with their owner, and nothing else', async (ctx) => {
    const why = availability(source);
    if (why) {
      console.warn(`skipped: ${why}`);
      ctx.skip();
    }
    const holder = await holdSockets(SPECS);
    const result = await scan({ source });
    expect(result.source).toBe(source);
    const mine = result.listeners.filter((l) => l.process?.pid === holder.pid);
    expect(mine.map(plain).sort()).toEqual(expected(holder.ports));
    for (const l of mine) {
      expect(l.process).toMatchObject({ pid: holder.pid, ppid: process.pid, name: 'python3', uid: process.getuid?.() });
      expect(l.process?.command).toMatch(/python3 .*listen\.py /);
      expect(l.inode).toBeGreaterThan(0);
      expect(l.netns).toMatch(/^\d+$/);
    }
    // Nobody listens on the ports of the client connection or the connected UDP socket.
    expect(result.listeners.filter((l) => l.port === holder.ports[8] && l.protocol === 'udp')).toEqual([]);
    const dual = mine.find((l) => l.port === holder.ports[2]);
    const v6only = mine.find((l) => l.port === holder.ports[3]);
    if (source === 'procfs')
      expect(dual?.dualStack).toBeNull(); // /proc cannot tell
    else {
      expect(dual?.dualStack).toBe(true);
      expect(v6only?.dualStack).toBe(false);
    }
    expect(mine.find((l) => l.port === holder.ports[0])?.dualStack).toBe(false);
  });

  it('reports two SO_REUSEPORT listeners on one port as two listeners', async (ctx) => {
    const why = availability(source);
    if (why) {
      console.warn(`skipped: ${why}`);
      ctx.skip();
    }
    const first = await holdSockets([{ proto: 'tcp', host: '127.0.0.1', reuseport: true }]);
    const port = first.ports[0] as number;
    const second = await first.open({ proto: 'tcp', host: '127.0.0.1', port, reuseport: true });
    expect(second.port).toBe(port);
    const { listeners } = await scan({ source });
    const onPort = listeners.filter((l) => l.port === port && l.protocol === 'tcp');
    expect(onPort).toHaveLength(2);
    expect(new Set(onPort.map((l) => l.inode)).size).toBe(2);
    expect(onPort.every((l) => l.process?.pid === first.pid)).toBe(true);
  });
});

describe('all sources agree', () => {
  it('on the host: same listeners, inodes and owners for the sockets this test holds', async () => {
    const holder = await holdSockets(SPECS);
    const available = SOURCES.filter((s) => availability(s) === null);
    const views = await Promise.all(
      available.map(async (source) => {
        const { listeners } = await scan({ source });
        return listeners
          .filter((l) => l.process?.pid === holder.pid)
          .map((l) => `${listenerKey(l)} ${l.process?.pid} ${l.uid}`)
          .sort();
      }),
    );
    for (const v of views) expect(v).toEqual(views[0]);
    expect(views[0]).toHaveLength(8);
  });

  it('inside a network namespace made for this test: exactly the same listeners, nothing else', async (ctx) => {
    const ns = netnsSupport();
    if (!ns.ok) {
      console.warn(`skipped: ${ns.reason}`);
      ctx.skip();
      return;
    }
    const holder = await holdSockets(SPECS, { netns: true });
    const available = SOURCES.filter((s) => availability(s) === null);
    const views = await Promise.all(
      available.map(async (source) => {
        const result = await new Scanner({ source, netnsPid: holder.pid }).scan();
        return { source, listeners: result.listeners };
      }),
    );
    for (const { source, listeners } of views) {
      expect(listeners.map(plain).sort(), source).toEqual(expected(holder.ports));
      expect(
        listeners.every((l) => l.process?.pid === holder.pid && l.process.name === 'python3'),
        source,
      ).toBe(true);
    }
    const normalised = views.map(({ listeners }) => listeners.map((l) => `${listenerKey(l)} ${l.uid}`).sort());
    for (const v of normalised) expect(v).toEqual(normalised[0]);
    const hostNetns = (await scan({ source: 'procfs' })).listeners[0]?.netns;
    expect(views[0]?.listeners[0]?.netns).not.toBe(hostNetns);
  });

  it('rejects a pid that does not exist', () => {
    expect(() => new Scanner({ netnsPid: 2 ** 22 + 12345 })).toThrow(/no process with pid/);
  });
});

describe('a namespace whose process exits', () => {
  it('fails the next scan with ENOPROCESS, whatever the source', async () => {
    const available = SOURCES.filter((s) => availability(s) === null);
    for (const source of available) {
      const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
      const scanner = new Scanner({ source, netnsPid: holder.pid });
      expect(
        (await scanner.scan()).listeners.some((l) => l.port === holder.ports[0]),
        source,
      ).toBe(true);
      await holder.stop();
      await expect(scanner.scan(), source).rejects.toMatchObject({ code: 'ENOPROCESS' });
      scanner.close();
    }
  });
});

describe('a socket shared by several processes', () => {
  it('names the master of a pre-forked server and lists every holder, as the README says', async () => {
    // A pre-forking server: the master listens, then forks two workers that inherit the socket.
    const script = [
      'import os, socket, sys, time',
      's = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()',
      'workers = []',
      'for _ in range(2):',
      '    pid = os.fork()',
      '    if pid == 0:',
      '        time.sleep(60); os._exit(0)',
      '    workers.append(pid)',
      'print(s.getsockname()[1], *workers, flush=True)',
      'time.sleep(60)',
    ].join('\n');
    const { spawn } = await import('node:child_process');
    const master = spawn('python3', ['-c', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    master.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const [port, ...workers] = (await waitFor(
      () => /^\d+ \d+ \d+\n/.test(out) && out.trim().split(' ').map(Number),
      'the server to fork',
    )) as number[];
    try {
      for (const source of SOURCES.filter((s) => availability(s) === null)) {
        const { listeners } = await scan({ source });
        const mine = listeners.filter((l) => l.port === port);
        expect(mine, source).toHaveLength(1);
        expect(mine[0]?.process?.pid, source).toBe(master.pid);
        expect(mine[0]?.holders, source).toEqual(
          [master.pid as number, ...workers].sort((a, b) => a - b).map((pid) => ({ pid, name: 'python3' })),
        );
      }
    } finally {
      for (const w of workers) process.kill(w as number, 'SIGKILL');
      master.kill('SIGKILL');
    }
  });

  it('a listener of one process has itself as its only holder; an unknown owner has none', async () => {
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
    const { listeners } = await scan({ source: 'procfs' });
    expect(listeners.find((l) => l.port === holder.ports[0])?.holders).toEqual([{ pid: holder.pid, name: 'python3' }]);
    for (const l of listeners) {
      if (l.process === null) expect(l.holders, `${l.port}`).toEqual([]);
      else
        expect(
          l.holders?.map((h) => h.pid),
          `${l.port}`,
        ).toContain(l.process.pid);
    }
    const { listeners: bare } = await scan({ source: 'procfs', owners: false });
    expect(bare.every((l) => l.process === null && l.holders?.length === 0)).toBe(true);
  });
});

describe('select: sockets nobody asked about cost no owner walk', () => {
  it('leaves out what it refuses and looks for owners of what it keeps only', async () => {
    const holder = await holdSockets([
      { proto: 'tcp', host: '127.0.0.1' },
      { proto: 'udp', host: '127.0.0.1' },
    ]);
    const [tcpPort] = holder.ports as [number, number];
    const asked: number[] = [];
    const scanner = new Scanner({
      source: 'procfs',
      select: (s) => {
        asked.push(s.inode);
        return s.port === tcpPort && s.protocol === 'tcp';
      },
    });
    try {
      const first = await scanner.scan();
      expect(first.listeners.map((l) => l.port)).toEqual([tcpPort]);
      expect(first.listeners[0]?.process?.pid).toBe(holder.pid);
      const askedOnce = asked.length;
      const second = await scanner.scan();
      expect(second.listeners).toEqual(first.listeners);
      expect(asked.length).toBe(askedOnce); // asked once per socket, not per scan
    } finally {
      scanner.close();
    }
  });

  it('a select that is not a function is a usage error', () => {
    expect(() => new Scanner({ select: 'tcp' as unknown as () => boolean })).toThrow(expect.objectContaining({ code: 'EUSAGE' }));
  });
});

describe('ownerRetryInMs: when a scan would look again for an owner not found', () => {
  it('is null while every wanted socket has an owner, and without owners; else the back-off', async () => {
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
    const real = createProcNetSource();
    const mine = (await real.scan({})).find((raw) => raw.port === holder.ports[0]);
    expect(mine).toBeDefined();
    // An inode no process holds: sockets in flight in a unix socket's queue look like this.
    const orphan = { ...mine!, port: 1, inode: 2 ** 31 - 7 };
    let rows = [mine!, orphan];
    const source = { name: 'procfs' as const, scan: () => Promise.resolve(rows) };
    const scanner = new Scanner({ source });
    expect(scanner.ownerRetryInMs()).toBeNull();
    const started = Date.now();
    await scanner.scan();
    const elapsed = Date.now() - started;
    // One walk could not find it: looked for again a second after its search began, not sooner.
    const retry = scanner.ownerRetryInMs(started);
    expect(retry).toBeGreaterThanOrEqual(1_000);
    expect(retry).toBeLessThanOrEqual(1_000 + elapsed);
    expect(scanner.ownerRetryInMs(Date.now() + 5_000)).toBe(0);
    rows = [mine!];
    await scanner.scan();
    expect(scanner.ownerRetryInMs()).toBeNull();
    const bare = new Scanner({ source, owners: false });
    rows = [mine!, orphan];
    await bare.scan();
    expect(bare.ownerRetryInMs()).toBeNull();
  });
});
