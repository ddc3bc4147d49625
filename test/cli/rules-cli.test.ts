import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { batchLine } from '../../src/cli/format.js';
import type { Listener, PortEvent } from '../../src/listener.js';
import { createRules } from '../../src/rules/rules.js';
import { parseConfigText } from '../../src/rules/config.js';
import { CLI, type LiveCli } from '../helpers/cli.js';
import { fixture } from '../helpers/fixtures.js';
import { holdSockets, stopAll, waitFor } from '../helpers/processes.js';
import { listener } from '../rules/make-listener.js';
import { startTree, stopTrees } from '../rules/marked-tree.js';

const live: LiveCli[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const c of live.splice(0)) {
    if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
    await c.exited;
  }
  await stopTrees();
  await stopAll();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function project(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'portwatch-rules-cli-'));
  dirs.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

/** Runs the CLI to completion in a directory (where the config is looked for). */
function cli(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Starts a long-running command (watch) in a directory; stopped by pid after each test. */
function startIn(cwd: string, args: string[]): LiveCli {
  const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  const c = { child, stdout: () => out, stderr: () => err, exited };
  live.push(c);
  return c;
}

type Labelled = Listener & { label: string | null };

describe('list: the rules decide what is listed and what it is called', () => {
  it('--config: ignored listeners are hidden, labels appear as a JSON field and a LABEL column; --all shows everything', async () => {
    const holder = await holdSockets([
      { proto: 'tcp', host: '127.0.0.1' },
      { proto: 'tcp', host: '127.0.0.1' },
      { proto: 'udp', host: '127.0.0.1' },
    ]);
    const [web, hidden, dns] = holder.ports as [number, number, number];
    const dir = project({
      'conf.json': JSON.stringify({ ignore: [{ port: hidden }], label: [{ port: web, label: 'web app' }] }),
    });
    const pid = ['--pid', String(holder.pid)];
    const json = await cli(['list', '--json', '--config', 'conf.json', ...pid], { cwd: dir });
    expect(json.code).toBe(0);
    const listed = JSON.parse(json.stdout) as Labelled[];
    expect(listed.map((l) => [l.protocol, l.port, l.label])).toEqual([
      ['tcp', web, 'web app'],
      ['udp', dns, null],
    ]);
    expect(Object.keys(listed[0] as object)).toEqual([
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
      'label',
    ]);

    const table = await cli(['list', '--config', 'conf.json', ...pid], { cwd: dir, env: { NO_COLOR: '1' } });
    const rows = table.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^PROTO\s+ADDRESS:PORT\s+PID\s+USER\s+PROCESS\s+LABEL\s+COMMAND$/);
    expect(table.stdout).toMatch(
      new RegExp(`^tcp\\s+127\\.0\\.0\\.1:${web}\\s+${holder.pid}\\s+\\S+\\s+python3\\s+web app\\s+\\S*python3 `, 'm'),
    );
    expect(table.stdout).toMatch(
      new RegExp(`^udp\\s+127\\.0\\.0\\.1:${dns}\\s+${holder.pid}\\s+\\S+\\s+python3\\s+-\\s+\\S*python3 `, 'm'),
    );
    expect(table.stdout).not.toContain(`:${hidden} `);

    const all = await cli(['list', '--json', '--all', '--config', 'conf.json', ...pid], { cwd: dir });
    expect((JSON.parse(all.stdout) as Labelled[]).map((l) => l.port).sort()).toEqual([web, hidden, dns].sort());

    const verbose = await cli(['list', '--verbose', '--config', 'conf.json', ...pid], { cwd: dir });
    expect(verbose.stderr).toMatch(
      /portwatch: rules: config conf\.json \(1 ignore rule, 1 label rule\); PORTWATCH_IGNORE processes ignored; portwatch's own listeners ignored; 1 listener\(s\) hidden\n$/,
    );
  });

  it('finds .devcontainer/devcontainer.json (comments and all) in a parent directory; --no-config does not', async () => {
    const holder = await holdSockets([
      { proto: 'tcp', host: '127.0.0.1' },
      { proto: 'tcp', host: '127.0.0.1' },
    ]);
    const [known, other] = holder.ports as [number, number];
    const dir = project({
      '.devcontainer/devcontainer.json': `// a dev container
{
  "name": "test",
  "portsAttributes": { "${known}": { "label": "Application", "onAutoForward": "notify", }, },
  /* everything else is noise */
  "otherPortsAttributes": { "onAutoForward": "ignore" },
}`,
      'src/deep/.keep': '',
    });
    const pid = ['--pid', String(holder.pid)];
    const found = await cli(['list', '--json', ...pid], { cwd: join(dir, 'src/deep') });
    expect(found.code).toBe(0);
    expect((JSON.parse(found.stdout) as Labelled[]).map((l) => [l.port, l.label])).toEqual([[known, 'Application']]);
    const none = await cli(['list', '--json', '--no-config', ...pid], { cwd: join(dir, 'src/deep') });
    expect((JSON.parse(none.stdout) as Listener[]).map((l) => l.port).sort()).toEqual([known, other].sort());
    expect(Object.keys((JSON.parse(none.stdout) as Listener[])[0] as object)).not.toContain('label');
  });

  it('leaves out a process started with PORTWATCH_IGNORE=1 and its descendants, even with a scrubbed environment', async () => {
    const marked = await startTree({ ...process.env, PORTWATCH_IGNORE: '1' }, { scrub: true });
    const plain = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
    const ports = `${marked.port},${plain.ports[0]}`;
    const r = await cli(['list', '--json', '--no-config', '--port', ports]);
    expect((JSON.parse(r.stdout) as Listener[]).map((l) => l.process?.pid)).toEqual([plain.pid]);
    const all = await cli(['list', '--json', '--no-config', '--all', '--port', ports]);
    expect((JSON.parse(all.stdout) as Listener[]).map((l) => l.process?.pid).sort()).toEqual([marked.holderPid, plain.pid].sort());
  });
});

describe('watch: the same rules for the list and the announcements', () => {
  it('ignored ports are neither listed nor announced; silent ones are listed, not announced; labels on event lines', async () => {
    const holder = await holdSockets([]);
    const dir = project({
      'portwatch.json': JSON.stringify({
        ignore: [{ protocol: 'udp', address: '127.0.0.1' }],
        silent: [{ protocol: 'udp', address: '::1' }],
        label: [{ protocol: 'tcp', label: 'api' }],
      }),
    });
    const w = startIn(dir, ['watch', '--json', '--interval', '50ms', '--pid', String(holder.pid)]);
    await waitFor(() => w.stderr().includes('watching'), 'the watcher to be ready');
    expect(w.stderr()).toContain(`(rules: ${join(dir, 'portwatch.json')})`);
    const ignored = await holder.open({ proto: 'udp', host: '127.0.0.1' });
    const silent = await holder.open({ proto: 'udp', host: '::1' });
    const api = await holder.open({ proto: 'tcp', host: '127.0.0.1' }); // opened last: once it is announced, the others were seen
    await waitFor(() => w.stdout().includes('"open"'), 'the open line');
    w.child.kill('SIGTERM');
    expect(await w.exited).toEqual({ code: 0, signal: null });
    const out = w.stdout();
    const events = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as PortEvent & { listener: Labelled });
    expect(events.map((e) => [e.type, e.listener.port, e.listener.label])).toEqual([['open', api.port, 'api']]);
    expect(out).not.toContain(String(ignored.port));
    expect(out).not.toContain(String(silent.port));

    // the same rules in a list: silent is listed, ignored is not
    const list = await cli(['list', '--json', '--pid', String(holder.pid)], { cwd: dir });
    expect((JSON.parse(list.stdout) as Labelled[]).map((l) => [l.port, l.label]).sort()).toEqual(
      [
        [api.port, 'api'],
        [silent.port, null],
      ].sort(),
    );
  });

  /** Ports in the `closed` arrays of --batch lines printed so far. */
  function closedPorts(out: string): number[] {
    return out
      .slice(0, out.lastIndexOf('\n') + 1) // complete lines only
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .flatMap((l) => (JSON.parse(l) as { closed: { port: number }[] }).closed.map((x) => x.port));
  }

  it('--json --batch prints one line per change set, only what is announced', async () => {
    const dir = project({ 'portwatch.json': JSON.stringify({ silent: [{ protocol: 'udp' }], label: [{ protocol: 'tcp', label: 't' }] }) });
    const tag = `batch-${process.pid}-${Date.now()}`;
    const w = startIn(dir, ['watch', '--json', '--batch', '--interval', '50ms', '--process', tag]);
    await waitFor(() => w.stderr().includes('watching 0 listener'), 'the watcher to be ready');
    // the tag in the holder's command line is what --process matches
    const holder = await holdSockets([
      { proto: 'tcp', host: '127.0.0.1', tag } as never,
      { proto: 'tcp', host: '::1', tag } as never,
      { proto: 'udp', host: '127.0.0.1', tag } as never,
    ]);
    const [a, b, udp] = holder.ports as [number, number, number];
    await waitFor(() => w.stdout().includes(`"port":${a},`) && w.stdout().includes(`"port":${b},`), 'the opens');
    await holder.stop();
    // Both closes, whether one scan saw them (polling) or two (a kernel event for each).
    await waitFor(() => closedPorts(w.stdout()).length === 2, 'both closes');
    w.child.kill('SIGINT');
    expect(await w.exited).toEqual({ code: 0, signal: null });
    const out = w.stdout();
    const lines = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { time: string; opened: Labelled[]; closed: Labelled[] });
    for (const l of lines) {
      expect(Object.keys(l)).toEqual(['time', 'opened', 'closed']);
      expect(l.opened.length + l.closed.length).toBeGreaterThan(0);
    }
    const opened = lines.flatMap((l) => l.opened.map((x) => [x.port, x.label]));
    const closed = lines.flatMap((l) => l.closed.map((x) => x.port));
    expect(opened.sort()).toEqual(
      [
        [a, 't'],
        [b, 't'],
      ].sort(),
    );
    expect(closed.sort()).toEqual([a, b].sort());
    expect(out).not.toContain(`"port":${udp}`);
  });

  it('batchLine: the change set with labels, announced listeners only, or nothing', () => {
    const rules = createRules(
      parseConfigText(JSON.stringify({ silent: [{ port: 2 }], label: [{ port: 1, label: 'one' }] }), 'p.json'),
      'p.json',
    );
    const time = '2026-01-01T00:00:00.000Z';
    const one = listener({ port: 1 });
    const two = listener({ port: 2 });
    const three = listener({ port: 3 });
    expect(JSON.parse(batchLine({ time, opened: [one, two], closed: [three] }, rules) as string)).toEqual({
      time,
      opened: [{ ...one, label: 'one' }],
      closed: [{ ...three, label: null }],
    });
    expect(batchLine({ time, opened: [two], closed: [] }, rules)).toBeNull();
    const plain = createRules();
    expect(JSON.parse(batchLine({ time, opened: [one], closed: [] }, plain) as string)).toEqual({ time, opened: [one], closed: [] });
  });
});

describe('a bad config file: exit 2, one line naming the file and the reason', () => {
  const bad = fixture('rules/bad-port.json');

  it.each([[['list']], [['watch']], [['list', '--json', '--all']], [['run', '--', 'true']], [['mcp']]])(
    '%j with a found portwatch.json',
    async (args) => {
      const dir = project({ 'portwatch.json': bad });
      const r = await cli([...args], { cwd: dir });
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`portwatch: ${join(dir, 'portwatch.json')}: label[0].port: invalid port 70000: use a number from 1 to 65535\n`);
      expect(r.stdout).toBe('');
    },
  );

  it('with --config, names the file as given', async () => {
    const dir = project({ 'cfg/pw.json': '{ "ignore": [{ "port": 80 }], }\n// fine so far\n{' });
    const r = await cli(['list', '--config', 'cfg/pw.json'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('portwatch: cfg/pw.json: invalid JSON at line 3, column 1: unexpected text after the end of the value\n');
    const missing = await cli(['watch', '--config', 'nope.json'], { cwd: dir });
    expect(missing).toMatchObject({ code: 2, stderr: 'portwatch: nope.json: no such file\n' });
  });

  it('--no-config ignores a broken file; --batch without --json is a usage error', async () => {
    const dir = project({ 'portwatch.json': bad });
    expect((await cli(['list', '--no-config', '--port', '1'], { cwd: dir })).code).toBe(0);
    const r = await cli(['watch', '--batch', '--no-config'], { cwd: dir });
    expect(r).toMatchObject({ code: 2, stderr: 'portwatch: --batch needs --json (it prints one JSON line per change set)\n' });
  });
});
