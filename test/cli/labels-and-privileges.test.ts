/**
 * Through the real CLI: default labels for well-known servers (without any config, and
 * under a config that names its own), and the hint an unprivileged user gets about owners
 * it cannot read (setpriv, against a root-owned listener).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import type { Listener } from '../../src/listener.js';
import { CLI, runCli, type LiveCli } from '../helpers/cli.js';
import { holdSockets, stopAll, waitFor } from '../helpers/processes.js';

const children: ChildProcess[] = [];
const live: LiveCli[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const c of live.splice(0)) {
    if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
    await c.exited;
  }
  for (const c of children.splice(0)) {
    if (c.exitCode !== null || c.signalCode !== null || c.pid === undefined) continue;
    const exited = new Promise((r) => c.once('exit', r));
    process.kill(c.pid, 'SIGTERM');
    await exited;
  }
  await stopAll();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/**
 * Names itself argv[1] (the kernel's comm), listens on 127.0.0.1:0, prints "pid port", and
 * waits for SIGTERM (or two minutes). The rest of argv is its command line.
 */
const NAMED_PY = `
import ctypes, os, signal, socket, sys, threading
signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
t = threading.Timer(120, lambda: os._exit(3)); t.daemon = True; t.start()
if sys.argv[1]: ctypes.CDLL(None).prctl(15, sys.argv[1].encode(), 0, 0, 0)
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
print(os.getpid(), s.getsockname()[1], flush=True)
signal.pause()
`;

async function named(name: string, ...args: string[]): Promise<{ pid: number; port: number }> {
  const child = spawn('python3', ['-c', NAMED_PY, name, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const lines: string[] = [];
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (l) => lines.push(l));
  const [pid, port] = (await waitFor(() => lines.shift(), `${name} to listen`)).split(' ').map(Number) as [number, number];
  return { pid, port };
}

describe('default labels', () => {
  it('a server binary and a dev tool get a LABEL without any config; a config label wins; JSON keeps its shape', async () => {
    const redis = await named('redis-server');
    const django = await named('', 'manage.py', 'runserver');
    const ports = `${redis.port},${django.port}`;
    for (const extra of [[], ['--no-config']]) {
      const r = await runCli(['list', ports, '--format', '{{.Port}} {{.Label}}', ...extra]);
      expect(r.stdout).toBe(
        [redis, django]
          .sort((a, b) => a.port - b.port)
          .map((p) => `${p.port} ${p === redis ? 'Redis' : 'Django'}\n`)
          .join(''),
      );
    }
    const table = await runCli(['list', String(redis.port)], { env: { NO_COLOR: '1' } });
    expect(table.stdout).toMatch(/^PROTO\s+ADDRESS:PORT\s+PID\s+USER\s+PROCESS\s+LABEL\s+COMMAND$/m);
    expect(table.stdout).toMatch(new RegExp(`:${redis.port}\\s+${redis.pid}\\s+\\S+\\s+redis-server\\s+Redis\\s`));
    // Without a config, --json is the library's Listener: no label field.
    expect(
      Object.keys((JSON.parse((await runCli(['list', String(redis.port), '--json'])).stdout) as Listener[])[0] as object),
    ).not.toContain('label');

    const dir = mkdtempSync(join(tmpdir(), 'portwatch-labels-'));
    dirs.push(dir);
    const config = join(dir, 'portwatch.json');
    writeFileSync(config, JSON.stringify({ label: [{ port: redis.port, label: 'cache' }] }));
    const json = JSON.parse((await runCli(['list', ports, '--json', '--config', config])).stdout) as (Listener & {
      label: string | null;
    })[];
    expect(json.map((l) => [l.port, l.label]).sort()).toEqual(
      [
        [redis.port, 'cache'],
        [django.port, 'Django'],
      ].sort(),
    );
  });
});

describe('owners this user cannot read', () => {
  const asNobody = (args: string[]): { status: number | null; stdout: string; stderr: string } =>
    spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, ...args], {
      encoding: 'utf8',
      timeout: 20_000,
      env: { ...process.env, NO_COLOR: '1' },
    });

  it('are counted once on stderr for tables and --format; never with --json or -q', async (ctx) => {
    if (process.getuid?.() !== 0) {
      console.warn('skipped: needs root to run the CLI as another user (setpriv)');
      ctx.skip();
    }
    const holder = await holdSockets([
      { proto: 'tcp', host: '127.0.0.1' },
      { proto: 'udp', host: '127.0.0.1' },
    ]); // owned by root
    const ports = holder.ports.join(',');
    const hint = 'portwatch: 2 of 2 listeners belong to processes this user cannot read; run as root to see them\n';

    const table = asNobody(['list', ports]);
    expect(table.status).toBe(0);
    expect(table.stderr).toBe(hint);
    expect(table.stdout).toMatch(new RegExp(`^tcp\\s+127\\.0\\.0\\.1:${holder.ports[0]}\\s+-\\s+root\\s+-$`, 'm'));
    expect(asNobody(['list', ports, '--format', '{{.Port}}']).stderr).toBe(hint);
    const json = asNobody(['list', ports, '--json']);
    expect(json.stderr).toBe('');
    expect(JSON.parse(json.stdout)).toHaveLength(2);
    expect(asNobody(['list', ports, '-q']).stderr).toBe('');
    // As root, the owners are known: nothing to say.
    expect((await runCli(['list', ports])).stderr).toBe('');
  });

  it('watch says it once, after its first table; not with --json', async (ctx) => {
    if (process.getuid?.() !== 0) {
      console.warn('skipped: needs root to run the CLI as another user (setpriv)');
      ctx.skip();
    }
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
    const port = String(holder.ports[0]);
    const run = (json: boolean): LiveCli => {
      const args = ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, port, '--interval', '50ms'];
      const child = spawn('setpriv', json ? [...args, '--json'] : args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
        child.on('close', (code, signal) => r({ code, signal })),
      );
      const c = { child, stdout: () => out, stderr: () => err, exited };
      live.push(c);
      return c;
    };
    const text = run(false);
    const json = run(true);
    await waitFor(() => text.stderr().includes('watching') && json.stderr().includes('watching'), 'both watchers to be ready');
    await waitFor(() => text.stderr().includes('cannot read'), 'the hint');
    expect(
      text
        .stderr()
        .split('\n')
        .filter((l) => l.includes('cannot read')),
    ).toEqual(['portwatch: 1 of 1 listeners belong to processes this user cannot read; run as root to see them']);
    expect(json.stderr()).not.toContain('cannot read');
    for (const c of [text, json]) {
      c.child.kill('SIGTERM');
      expect(await c.exited).toEqual({ code: 0, signal: null });
    }
  });
});
