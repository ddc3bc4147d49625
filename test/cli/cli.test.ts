import { afterEach, describe, expect, it } from 'vitest';
import type { Listener, PortEvent } from '../../src/listener.js';
import { runCli, startCli, type LiveCli } from '../helpers/cli.js';
import { holdSockets, stopAll, waitFor } from '../helpers/processes.js';
import { unusedPort } from '../helpers/sockets.js';

const live: LiveCli[] = [];
afterEach(async () => {
  for (const c of live.splice(0)) {
    if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
    await c.exited;
  }
  await stopAll();
});

function start(args: string[], env: NodeJS.ProcessEnv = {}): LiveCli {
  const c = startCli(args, env);
  live.push(c);
  return c;
}

describe('portwatch list', () => {
  it('--json prints Listener objects with their owners', async () => {
    const holder = await holdSockets([
      { proto: 'tcp', host: '127.0.0.1' },
      { proto: 'udp', host: '::1' },
    ]);
    const r = await runCli(['list', '--json', '--pid', String(holder.pid)]);
    expect(r.code).toBe(0);
    const listeners = JSON.parse(r.stdout) as Listener[];
    expect(listeners.map((l) => `${l.protocol} ${l.address} ${l.port}`)).toEqual([
      `tcp 127.0.0.1 ${holder.ports[0]}`,
      `udp ::1 ${holder.ports[1]}`,
    ]);
    expect(Object.keys(listeners[0] as object)).toEqual([
      'protocol',
      'family',
      'address',
      'port',
      'dualStack',
      'interface',
      'inode',
      'uid',
      'netns',
      'process',
      'holders',
    ]);
    expect(Object.keys(listeners[0]?.process as object)).toEqual(['pid', 'ppid', 'name', 'command', 'uid']);
  });

  it('filters by protocol, port and process, and prints a table', async () => {
    const holder = await holdSockets([
      { proto: 'tcp', host: '127.0.0.1' },
      { proto: 'udp', host: '127.0.0.1' },
    ]);
    const [tcp, udp] = holder.ports as [number, number];
    const both = `${tcp},${udp}`;
    const onlyUdp = await runCli(['list', '--udp', '--port', both, '--json']);
    expect((JSON.parse(onlyUdp.stdout) as Listener[]).map((l) => l.port)).toEqual([udp]);
    const byName = await runCli(['list', '--process', '^python3$', '--port', both, '--json']);
    expect((JSON.parse(byName.stdout) as Listener[]).map((l) => l.port).sort()).toEqual([tcp, udp].sort());
    const none = await runCli(['list', '--process', '^nomatch$', '--port', both, '--json']);
    expect(JSON.parse(none.stdout)).toEqual([]);
    const table = await runCli(['list', '--tcp', '--port', both], { env: { NO_COLOR: '1' } });
    expect(table.stdout.split('\n')[0]).toMatch(/^PROTO\s+ADDRESS:PORT\s+PID\s+USER\s+PROCESS\s+COMMAND$/);
    expect(table.stdout).toMatch(new RegExp(`^tcp\\s+127\\.0\\.0\\.1:${tcp}\\s+${holder.pid}\\s+\\S+\\s+python3\\s+\\S*python3 `, 'm'));
    expect(table.stdout).not.toContain('\u001b['); // no colour in a pipe
  });

  it('--verbose names the source, the scan time and the container status on stderr', async () => {
    const r = await runCli(['list', '--verbose', '--source', 'procfs']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/via procfs in \d+\.\d+ ms; network namespace \d+; (in a container \(.+\)|not in a container)/);
  });
});

describe('portwatch watch', () => {
  it('--json prints one PortEvent per line as ports open and close', async () => {
    const holder = await holdSockets([]);
    const w = start(['watch', '--json', '--interval', '50ms', '--pid', String(holder.pid)]);
    await waitFor(() => w.stderr().includes('watching'), 'the watcher to be ready');
    const { index, port } = await holder.open({ proto: 'tcp', host: '::1' });
    await waitFor(() => w.stdout().includes('"open"'), 'the open line');
    await holder.close(index);
    await waitFor(() => w.stdout().includes('"close"'), 'the close line');
    w.child.kill('SIGINT');
    expect(await w.exited).toEqual({ code: 0, signal: null });
    const events = w
      .stdout()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as PortEvent);
    expect(events.map((e) => `${e.type} ${e.listener.address} ${e.listener.port} ${e.listener.process?.pid}`)).toEqual([
      `open ::1 ${port} ${holder.pid}`,
      `close ::1 ${port} ${holder.pid}`,
    ]);
    expect(Object.keys(events[0] as object)).toEqual(['type', 'time', 'listener']);
  });

  it('bare `portwatch` watches: the table first, then +/- lines; SIGTERM exits 0', async () => {
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
    const w = start(['--interval', '50ms', '--pid', String(holder.pid)], { NO_COLOR: '1' });
    await waitFor(() => w.stderr().includes('watching 1 listener'), 'the watcher to be ready');
    expect(w.stdout()).toMatch(new RegExp(`127\\.0\\.0\\.1:${holder.ports[0]}\\s+${holder.pid}\\s+\\S+\\s+python3`));
    const { port } = await holder.open({ proto: 'udp', host: '127.0.0.1' });
    await waitFor(() => /\+ udp/.test(w.stdout()), 'the + line');
    expect(w.stdout()).toMatch(
      new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{3} \\+ udp  127\\.0\\.0\\.1:${port}\\s+${holder.pid} python3$`, 'm'),
    );
    w.child.kill('SIGTERM');
    expect(await w.exited).toEqual({ code: 0, signal: null });
  });
});

describe('portwatch wait', () => {
  it('exits 0 and prints the listener as soon as the port listens', async () => {
    const holder = await holdSockets([]);
    const { index, port } = await holder.open({ proto: 'tcp', host: '::1' });
    await holder.close(index); // a port that was free a moment ago
    const w = start(['wait', String(port), '--timeout', '20s', '--json']);
    await holder.open({ proto: 'tcp', host: '::1', port });
    expect(await w.exited).toEqual({ code: 0, signal: null });
    expect((JSON.parse(w.stdout()) as Listener[]).map((l) => [l.address, l.port])).toEqual([['::1', port]]);
  });

  it('--closed exits 0 once the port is free, printing nothing', async () => {
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
    const port = holder.ports[0] as number;
    const w = start(['wait', String(port), '--closed', '--timeout', '20s']);
    await holder.close(0);
    expect(await w.exited).toEqual({ code: 0, signal: null });
    expect(w.stdout()).toBe('');
  });

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('interrupted by %s: exit %i with one line', async (signal, code) => {
    const port = await unusedPort();
    const w = start(['wait', String(port), '--log-level', 'debug', '--trigger', 'poll']);
    await waitFor(() => w.stderr().includes('"reason":"first"'), 'its first scan');
    w.child.kill(signal);
    expect(await w.exited).toEqual({ code, signal: null });
    expect(w.stderr().trim().split('\n').at(-1)).toBe('portwatch: waiting was aborted');
  });

  it('--closed --json prints an empty list, still JSON for a script', async () => {
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
    const port = holder.ports[0] as number;
    const w = start(['wait', `:${port}`, '--closed', '--json', '--timeout', '20s']);
    await holder.close(0);
    expect(await w.exited).toEqual({ code: 0, signal: null });
    expect(JSON.parse(w.stdout())).toEqual([]);
  });

  it('exits 1 on timeout, naming the ports still missing', async () => {
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
    const { index, port } = await holder.open({ proto: 'udp', host: '127.0.0.1' });
    await holder.close(index);
    const r = await runCli(['wait', `${holder.ports[0]},${port}`, '--udp', '--timeout', '300ms']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`portwatch: timed out after 300 ms waiting for udp ports ${holder.ports[0]}, ${port}`);
  });
});

describe('usage errors: one line on stderr, exit 2, no stack trace', () => {
  it.each([
    [['list', '--bogus'], /unknown option '--bogus'/],
    [['list', '--port', '70000'], /invalid port '70000'/],
    [['watch', '--interval', 'soon'], /invalid interval 'soon'/],
    [['wait'], /missing required argument 'ports'/],
    [['wait', 'http'], /invalid port 'http'/],
    [['wait', '3000', '--timeout', '-1'], /invalid timeout '-1'/],
    [['list', '--netns-pid', '4194999'], /--netns-pid 4194999: no such process/],
    [['list', '--pid', 'x'], /invalid pid 'x'/],
    [['list', '--source', 'magic'], /unknown source 'magic'/],
    [['list', '--process', '('], /invalid regular expression/],
    [['list', '--log-level', 'loud'], /invalid log level 'loud'/],
    [['frobnicate'], /unknown command 'frobnicate' \(commands: /],
    [['lsit'], /unknown command 'lsit'; did you mean 'list'\?/],
    [['wait', '3000', '--color', 'sometimes'], /invalid --color 'sometimes'/],
    [['serv', '--listen', '0'], /unknown command 'serv'; did you mean 'serve'\?/],
  ])('%j', async (args, message) => {
    const r = await runCli(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/^portwatch: /);
    expect(r.stderr.trim().split('\n').length).toBeLessThanOrEqual(2);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a source that is not available here is a usage error', async () => {
    const r = await runCli(['list', '--source', 'sockdiag'], { env: { PORTWATCH_NO_NATIVE: '1' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^portwatch: source 'sockdiag' is not available here: /);
  });

  it('FORCE_COLOR colours a pipe, --color never wins over it, and NO_COLOR alone keeps it plain', async () => {
    const bold = '\u001b[1m';
    expect((await runCli(['list', '--no-config'], { env: { FORCE_COLOR: '1' } })).stdout).toContain(bold);
    expect((await runCli(['list', '--no-config', '--color', 'never'], { env: { FORCE_COLOR: '1' } })).stdout).not.toContain(bold);
    expect((await runCli(['list', '--no-config', '--color', 'always'], { env: { NO_COLOR: '1' } })).stdout).toContain(bold);
    expect((await runCli(['list', '--no-config'], { env: { NO_COLOR: '1', FORCE_COLOR: undefined } })).stdout).not.toContain(bold);
  });

  it('--help and --version exit 0', async () => {
    expect((await runCli(['--help'])).code).toBe(0);
    expect((await runCli(['--version'])).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

describe('attribution without privileges', () => {
  it("leaves another user's listener with process null instead of guessing", async (ctx) => {
    if (process.getuid?.() !== 0) {
      console.warn('skipped: needs root to run the CLI as another user (setpriv)');
      ctx.skip();
    }
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]); // owned by root
    const { spawnSync } = await import('node:child_process');
    const { CLI } = await import('../helpers/cli.js');
    const r = spawnSync(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, 'list', '--json', '--port', String(holder.ports[0])],
      { encoding: 'utf8', timeout: 20_000 },
    );
    expect(r.stderr).toBe('');
    const listeners = JSON.parse(r.stdout) as Listener[];
    expect(listeners).toHaveLength(1);
    expect(listeners[0]).toMatchObject({ port: holder.ports[0], uid: 0, process: null });
  });
});

describe('portwatch watch --netns-pid when the process exits', () => {
  it('says so on stderr and exits 1', async () => {
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
    const w = start(['watch', '--netns-pid', String(holder.pid), '--interval', '50ms']);
    await waitFor(() => w.stderr().includes('watching'), 'the watcher to be ready');
    await holder.stop();
    expect(await w.exited).toEqual({ code: 1, signal: null });
    expect(w.stderr()).toContain(`portwatch: process ${holder.pid} has exited; its network namespace is no longer watched`);
  });
});
