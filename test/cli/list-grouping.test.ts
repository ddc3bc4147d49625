/**
 * Seeing, through the real CLI with real sockets: one row per process and port, the USER
 * column, ports as arguments, -q, --format, --no-trunc on a terminal.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { parsePasswd } from '../../src/cli/table/users.js';
import type { Listener } from '../../src/listener.js';
import { CLI, runCli, startCli, type LiveCli } from '../helpers/cli.js';
import { holdSockets, stopAll, waitFor, type Holder } from '../helpers/processes.js';

const live: LiveCli[] = [];
afterEach(async () => {
  for (const c of live.splice(0)) {
    if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
    await c.exited;
  }
  await stopAll();
});

const me = process.getuid?.() ?? 0;
const myName = parsePasswd(readFileSync('/etc/passwd', 'utf8')).get(me) ?? String(me);
const plain = { NO_COLOR: '1' };

/** A process with a TCP port on 127.0.0.1 and ::1, and a UDP port on 0.0.0.0 and :: (v6only), the same number. */
async function dualServer(): Promise<{ holder: Holder; tcp: number; udp: number }> {
  const holder = await holdSockets([
    { proto: 'tcp', host: '127.0.0.1' },
    { proto: 'udp', host: '0.0.0.0' },
  ]);
  const [tcp, udp] = holder.ports as [number, number];
  await holder.open({ proto: 'tcp', host: '::1', port: tcp });
  await holder.open({ proto: 'udp', host: '::', port: udp, v6only: true });
  return { holder, tcp, udp };
}

const rowRe = (proto: string, endpoint: string, pid: number): RegExp =>
  new RegExp(`^${proto}\\s+${endpoint.replace(/[.[\]]/g, '\\$&')}\\s+${pid}\\s+${myName}\\s+python3\\s+\\S*python3 `, 'm');

describe('one row per process and port', () => {
  it('list: 127.0.0.1 and ::1 are one row, so are 0.0.0.0 and ::; --no-group splits; JSON stays per socket', async () => {
    const { holder, tcp, udp } = await dualServer();
    const pid = String(holder.pid);
    const grouped = await runCli(['list', '--pid', pid], { env: plain });
    expect(grouped.code).toBe(0);
    const lines = grouped.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^PROTO\s+ADDRESS:PORT\s+PID\s+USER\s+PROCESS\s+COMMAND$/);
    expect(lines).toHaveLength(3);
    expect(grouped.stdout).toMatch(rowRe('tcp46', `127.0.0.1,[::1]:${tcp}`, holder.pid));
    expect(grouped.stdout).toMatch(rowRe('udp46', `0.0.0.0,[::]:${udp}`, holder.pid));

    const split = await runCli(['list', '--pid', pid, '--no-group'], { env: plain });
    expect(split.stdout.trimEnd().split('\n')).toHaveLength(5);
    expect(split.stdout).toMatch(rowRe('tcp', `127.0.0.1:${tcp}`, holder.pid));
    expect(split.stdout).toMatch(rowRe('tcp6', `[::1]:${tcp}`, holder.pid));

    const json = JSON.parse((await runCli(['list', '--pid', pid, '--json'])).stdout) as Listener[];
    expect(json.map((l) => `${l.protocol} ${l.address} ${l.port}`)).toEqual([
      `tcp 127.0.0.1 ${tcp}`,
      `tcp ::1 ${tcp}`,
      `udp 0.0.0.0 ${udp}`,
      `udp :: ${udp}`,
    ]);
  });

  it('watch: the first table is grouped, event lines stay one per socket', async () => {
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
    await holder.open({ proto: 'tcp', host: '::1', port: holder.ports[0] });
    const w = startCli(['watch', '--interval', '50ms', '--pid', String(holder.pid)], plain);
    live.push(w);
    await waitFor(() => w.stderr().includes('watching 2 listener'), 'the watcher to be ready');
    expect(w.stdout()).toMatch(rowRe('tcp46', `127.0.0.1,[::1]:${holder.ports[0]}`, holder.pid));
    const { port } = await holder.open({ proto: 'tcp', host: '127.0.0.1' });
    await holder.open({ proto: 'tcp', host: '::1', port });
    await waitFor(() => w.stdout().includes(`[::1]:${port}`), 'both + lines');
    expect(w.stdout()).toMatch(new RegExp(` \\+ tcp  127\\.0\\.0\\.1:${port}\\s+${holder.pid} python3$`, 'm'));
    expect(w.stdout()).toMatch(new RegExp(` \\+ tcp6 \\[::1\\]:${port}\\s+${holder.pid} python3$`, 'm'));
    w.child.kill('SIGTERM');
    expect(await w.exited).toEqual({ code: 0, signal: null });
  });
});

describe('ports as arguments', () => {
  it('list 8080, list :8080,3000-3010 — shorthand for --port; both at once is a usage error', async () => {
    const holder = await holdSockets([
      { proto: 'tcp', host: '127.0.0.1' },
      { proto: 'tcp', host: '127.0.0.1' },
      { proto: 'tcp', host: '127.0.0.1' },
    ]);
    const [a, b, c] = holder.ports as [number, number, number];
    const ports = async (args: string[]): Promise<number[]> =>
      (JSON.parse((await runCli(['list', '--json', '--pid', String(holder.pid), ...args])).stdout) as Listener[]).map((l) => l.port).sort();
    expect(await ports([String(a)])).toEqual([a]);
    expect(await ports([`:${a},${b}`])).toEqual([a, b].sort());
    expect(await ports([`:${a}`, `:${c}`])).toEqual([a, c].sort());

    const both = await runCli(['list', String(a), '--port', String(b)]);
    expect(both.code).toBe(2);
    expect(both.stderr).toBe(`portwatch: ports given twice: as arguments (${a}) and with --port ${b}; use one or the other\n`);
    const bad = await runCli(['list', '80x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe("portwatch: invalid port '80x': use a number from 1 to 65535\n");
  });

  it('`portwatch PORT` watches that port; `portwatch 80x` is a bad port, not an unknown command', async () => {
    const holder = await holdSockets([
      { proto: 'tcp', host: '127.0.0.1' },
      { proto: 'tcp', host: '127.0.0.1' },
    ]);
    const [a, b] = holder.ports as [number, number];
    const w = startCli([`:${a}`, '--interval', '50ms'], plain);
    live.push(w);
    await waitFor(() => w.stderr().includes('watching 1 listener'), 'the watcher to be ready');
    expect(w.stdout()).toContain(`127.0.0.1:${a} `);
    expect(w.stdout()).not.toContain(`:${b} `);
    w.child.kill('SIGTERM');
    expect(await w.exited).toEqual({ code: 0, signal: null });

    const bad = await runCli(['80x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe("portwatch: invalid port '80x': use a number from 1 to 65535\n");
  });
});

describe('output for scripts', () => {
  it('-q prints each port once; --addresses prints addr:port; both refuse other formats', async () => {
    const { holder, tcp, udp } = await dualServer();
    const pid = String(holder.pid);
    const q = await runCli(['list', '-q', '--pid', pid]);
    expect(q.stdout).toBe(`${[tcp, udp].sort((x, y) => x - y).join('\n')}\n`);
    expect(q.stderr).toBe('');
    const addrs = await runCli(['list', '--quiet', '--addresses', '--tcp', '--pid', pid]);
    expect(addrs.stdout).toBe(`127.0.0.1:${tcp}\n[::1]:${tcp}\n`);
    for (const [args, message] of [
      [['-q', '--json'], '--json and -q cannot be combined'],
      [['--addresses'], '--addresses needs -q'],
      [['-q', '--format', '{{.Port}}'], '-q and --format cannot be combined'],
    ] as const) {
      const r = await runCli(['list', ...args]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(message);
    }
  });

  it('--format: fields per row, `table` adds a header and aligns; an unknown field exits 2 listing the fields', async () => {
    const { holder, tcp, udp } = await dualServer();
    const pid = String(holder.pid);
    const line = await runCli([
      'list',
      '--pid',
      pid,
      '--format',
      '{{.Port}} {{.Protocol}} {{.Address}} {{.Pid}} {{.Process}} {{.User}} {{.Label}}',
    ]);
    expect(line.stdout).toBe(`${tcp} tcp 127.0.0.1,::1 ${pid} python3 ${myName} -\n${udp} udp 0.0.0.0,:: ${pid} python3 ${myName} -\n`);
    const table = await runCli(['list', '--pid', pid, '--tcp', '--format', 'table {{.Endpoint}}\\t{{.Process}}']);
    const endpoint = `127.0.0.1,[::1]:${tcp}`;
    expect(table.stdout).toBe(`${'ENDPOINT'.padEnd(endpoint.length)}  PROCESS\n${endpoint}  python3\n`);

    const bad = await runCli(['list', '--format', '{{.Host}}']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(
      "portwatch: invalid --format: unknown field '{{.Host}}' (fields: {{.Port}} {{.Protocol}} {{.Proto}} {{.Address}} {{.Endpoint}} {{.Pid}} {{.User}} {{.Process}} {{.Command}} {{.Label}} {{.Netns}} {{.Container}})\n",
    );
  });
});

const quote = (word: string): string => `'${word.replace(/'/g, `'\\''`)}'`;

function scriptMissing(): string | null {
  const r = spawnSync('script', ['-qc', 'true', '/dev/null'], { stdio: 'ignore', timeout: 10_000 });
  if (r.error) return `script (util-linux) is not runnable: ${r.error.message}`;
  return r.status === 0 ? null : `script -qc true exited ${r.status}`;
}

/** The CLI on a pty of `cols` columns: what the terminal received. */
function onPty(cols: number, args: string[]): Promise<string> {
  const command = `stty cols ${cols} rows 24 && exec ${[process.execPath, CLI, ...args].map(quote).join(' ')}`;
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...plain } });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => process.kill(child.pid as number, 'SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      resolve(output.replace(/\r\n/g, '\n'));
    });
  });
}

describe('--no-trunc', () => {
  it('prints the whole command on a terminal that would cut it', async (ctx) => {
    const missing = scriptMissing();
    if (missing !== null) {
      console.warn(`skipped: ${missing}`);
      ctx.skip();
    }
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
    const cut = await onPty(40, ['list', '--pid', String(holder.pid)]);
    expect(cut.split('\n').filter((l) => l !== '')[1]).toMatch(/^tcp.{36}…$/);
    const whole = await onPty(40, ['list', '--no-trunc', '--pid', String(holder.pid)]);
    expect(whole).toMatch(rowRe('tcp', `127.0.0.1:${holder.ports[0]}`, holder.pid));
    expect(whole).toMatch(/listen\.py \S+$/m);
    expect(whole).not.toContain('…');
    const wide = await runCli(['list', '--wide']);
    expect(wide.code).toBe(2);
    expect(wide.stderr).toMatch(/^portwatch: unknown option '--wide'/);
  });
});
