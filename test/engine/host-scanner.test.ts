/**
 * The host scanner on namespaces made here: read through /proc without sock_diag, seen by a
 * user who may not read other users' namespaces, and a namespace's inode never given to
 * another one while it is held.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { HostScanner } from '../../src/engine/host-scanner.js';
import { CLI } from '../helpers/cli.js';
import { holdSockets, netnsSupport, stopAll, waitFor } from '../helpers/processes.js';

const support = netnsSupport();
const isRoot = process.getuid?.() === 0;
const named: string[] = [];
const scanners: HostScanner[] = [];

afterEach(async () => {
  for (const s of scanners.splice(0)) s.close();
  await stopAll();
  for (const name of named.splice(0)) spawnSync('ip', ['netns', 'del', name]);
});

function netnsOfPid(pid: number): string {
  return /^net:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/ns/net`))![1]!;
}

describe.skipIf(!support.ok || !isRoot)('host scanner', () => {
  it('source procfs: namespaces read through a process in them; one without a process is said to be missing', async () => {
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }], { netns: true });
    const name = `pw-scan-${process.pid}`;
    expect(spawnSync('ip', ['netns', 'add', name]).status).toBe(0);
    named.push(name);
    const s = new HostScanner({ source: 'procfs', containers: false });
    scanners.push(s);
    s.refresh();
    await s.scan('all');
    const netns = netnsOfPid(holder.pid);
    const mine = s.listeners().filter((l) => l.netns === netns);
    expect(mine.map((l) => l.port)).toEqual([holder.ports[0]]);
    expect(mine[0]!.process?.pid).toBe(holder.pid);
    expect(s.namespace(netns)?.source).toBe('procfs');
    const empty = s.namespaces().find((n) => n.mounts.includes(`/run/netns/${name}`));
    expect(empty?.problem).toMatch(/has no process to read \/proc\/<pid>\/net from/);
    expect(s.missing().join('\n')).toMatch(/could not be read/);
  });

  it('without root: what other users hold is said to be missing, not guessed', async () => {
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }], { netns: true });
    const netns = netnsOfPid(holder.pid);
    const r = spawnSync(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, 'list', '-A', '-v', '--json'],
      {
        encoding: 'utf8',
        timeout: 20_000,
      },
    );
    expect(r.status).toBe(0);
    const listeners = JSON.parse(r.stdout) as { netns: string }[];
    expect(listeners.some((l) => l.netns === netns)).toBe(false);
    expect(r.stderr).toMatch(
      /not seen: the network namespace of \d+ process\(es\) could not be read \(other users' processes: run as root\)/,
    );
  });

  it('a namespace held is never confused with a new one: its inode is not reused while held', async () => {
    const s = new HostScanner({ containers: false });
    scanners.push(s);
    const first = await holdSockets([{ proto: 'udp', host: '127.0.0.1' }], { netns: true });
    const gone = netnsOfPid(first.pid);
    s.refresh();
    await s.scan('all');
    await first.stop();
    // The kernel hands out freed namespace inodes again; while the scanner holds this one, it cannot.
    // (Freeing is asynchronous; without the hold, one of these usually gets it.)
    const later: string[] = [];
    for (let i = 0; i < 10; i++) {
      const r = spawnSync('sh', ['-c', 'sleep 0.05; exec unshare --net readlink /proc/self/ns/net'], { encoding: 'utf8' });
      later.push(/net:\[(\d+)\]/.exec(r.stdout)![1]!);
    }
    expect(later).not.toContain(gone);
    // Gone: no process, no mount, no listener; the refresh lets it go.
    const closed = s.refresh().closed.map((c) => c.namespace.netns);
    expect(closed).toContain(gone);
    expect(s.namespace(gone)).toBeNull();
  });

  it('a namespace kept alive by a listening socket alone stays until that socket closes', async () => {
    // A process in the host namespace holds a UDP socket made inside a namespace that has no process left.
    const script = [
      'import ctypes, os, socket, sys, time',
      'libc = ctypes.CDLL(None, use_errno=True)',
      'fd = os.open(sys.argv[1], os.O_RDONLY)',
      'home = os.open("/proc/self/ns/net", os.O_RDONLY)',
      'assert libc.setns(fd, 0x40000000) == 0',
      's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 0))',
      'assert libc.setns(home, 0x40000000) == 0',
      'print(s.getsockname()[1], flush=True)',
      'sys.stdin.read()',
    ].join('\n');
    const inner = await holdSockets([], { netns: true });
    const netns = netnsOfPid(inner.pid);
    const keeper = spawn('python3', ['-c', script, `/proc/${inner.pid}/ns/net`], { stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      let out = '';
      keeper.stdout.on('data', (d: Buffer) => (out += d.toString()));
      await waitFor(() => out.includes('\n'), 'the keeper to bind');
      const port = Number(out.trim());
      const s = new HostScanner({ containers: false });
      scanners.push(s);
      s.refresh();
      await s.scan('all');
      await inner.stop();
      expect(s.refresh().closed.map((c) => c.namespace.netns)).not.toContain(netns);
      await s.scan([netns]);
      expect(
        s
          .listeners()
          .filter((l) => l.netns === netns)
          .map((l) => [l.port, l.process?.pid]),
      ).toEqual([[port, keeper.pid]]);
      keeper.stdin.end();
      await new Promise((r) => keeper.once('exit', r));
      expect(s.refresh().closed.map((c) => c.namespace.netns)).toContain(netns);
    } finally {
      if (keeper.exitCode === null) keeper.kill('SIGKILL');
    }
  });
});
