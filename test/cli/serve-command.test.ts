import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { PortEvent } from '../../src/listener.js';
import type { ListenerView } from '../../src/serve/listener-table.js';
import { resolveToken } from '../../src/cli/token.js';
import { runCli, startCli, type LiveCli } from '../helpers/cli.js';
import { holdSockets, stopAll, waitFor } from '../helpers/processes.js';

const live: LiveCli[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const c of live.splice(0)) {
    if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
    await c.exited;
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  await stopAll();
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'portwatch-serve-cli-'));
  dirs.push(d);
  return d;
}

/** Starts `portwatch serve`, waits for the URL it prints and its first scan. */
async function serve(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ cli: LiveCli; url: URL; port: number }> {
  const cli = startCli(['serve', '--listen', '127.0.0.1:0', '--interval', '50ms', ...args], env);
  live.push(cli);
  const text = await waitFor(
    () => /^portwatch: serving (http:\/\/\S+)/m.exec(cli.stderr())?.[1] ?? (cli.child.exitCode !== null ? 'exited' : null),
    'the serving line',
  );
  if (text === 'exited') throw new Error(`serve exited: ${cli.stderr()}`);
  await waitFor(() => cli.stderr().includes('portwatch: watching'), 'the first scan');
  const url = new URL(text);
  return { cli, url, port: Number(url.port) };
}

function get(
  url: URL,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname.replace(/^\[|\]$/g, ''), port: url.port, path, headers: { host: url.host, ...headers }, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('portwatch serve', () => {
  it('prints the URL it serves on, lists the listeners (not itself), and exits 0 on SIGTERM, ending event streams', async () => {
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
    const { cli, url, port } = await serve(['--pid', String(holder.pid)]);
    expect(cli.stderr()).toMatch(new RegExp(`^portwatch: serving http://127\\.0\\.0\\.1:${port}/\\n`));
    expect(cli.stderr()).toMatch(/^portwatch: watching 1 listener\(s\) via \w+; Ctrl-C to stop$/m);
    const listed = JSON.parse((await get(url, '/api/listeners')).body) as ListenerView[];
    expect(listed.map((l) => [l.port, l.process?.pid])).toEqual([[holder.ports[0], holder.pid]]);

    // without a filter, everything but itself
    const all = await serve([]);
    const everything = JSON.parse((await get(all.url, '/api/listeners')).body) as ListenerView[];
    expect(everything.some((l) => l.port === holder.ports[0])).toBe(true);
    expect(everything.some((l) => l.port === all.port && l.process?.pid === all.cli.child.pid)).toBe(false);
    expect(everything.some((l) => l.port === port && l.process?.pid === cli.child.pid)).toBe(true); // the other serve is just a listener

    let streamEnded = false;
    await new Promise<void>((resolve) => {
      const req = request(
        { host: '127.0.0.1', port, path: '/api/events', headers: { accept: 'text/event-stream', host: url.host }, agent: false },
        (res) => {
          res.resume();
          res.on('close', () => (streamEnded = true));
          resolve();
        },
      );
      req.on('error', () => (streamEnded = true));
      req.end();
    });
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toEqual({ code: 0, signal: null });
    await waitFor(() => streamEnded, 'the event stream to end');
    all.cli.child.kill('SIGINT');
    expect(await all.cli.exited).toEqual({ code: 0, signal: null });
    expect(all.cli.stderr()).not.toMatch(/\n\s+at /);
  });

  it('streams events and serves the page over IPv6 too', async () => {
    const holder = await holdSockets([]);
    const cli = startCli(['serve', '--listen', '[::1]:0', '--interval', '50ms', '--pid', String(holder.pid)]);
    live.push(cli);
    const text = await waitFor(() => /serving (http:\/\/\S+)/.exec(cli.stderr())?.[1], 'the serving line');
    expect(text).toMatch(/^http:\/\/\[::1\]:\d+\/$/);
    const url = new URL(text);
    await waitFor(() => cli.stderr().includes('watching'), 'the first scan');
    expect((await get(url, '/')).body).toContain('<title>portwatch</title>');
    const { port } = await holder.open({ proto: 'udp', host: '127.0.0.1' });
    const events = JSON.parse(
      await waitFor(async () => {
        const r = await get(url, '/api/events?since=0');
        return (JSON.parse(r.body) as { events: unknown[] }).events.length > 0 ? r.body : null;
      }, 'the open event'),
    ) as { events: (PortEvent & { id: number })[] };
    expect(events.events.map((e) => `${e.id} ${e.type} ${e.listener.protocol} ${e.listener.port}`)).toEqual([`1 open udp ${port}`]);
  });

  it('--token-file: 401 without the token, 200 with it; PORTWATCH_TOKEN works too', async () => {
    const dir = tempDir();
    const file = join(dir, 'token');
    writeFileSync(file, 'file-token-abcdef\n', { mode: 0o600 });
    const { url, cli } = await serve(['--token-file', file]);
    expect(cli.stderr()).toMatch(/serving http:\/\/127\.0\.0\.1:\d+\/ \(token required: open \/\?token=… once\)/);
    expect(cli.stderr()).not.toContain('file-token-abcdef');
    expect((await get(url, '/api/listeners')).status).toBe(401);
    expect((await get(url, '/api/listeners', { authorization: 'Bearer file-token-abcdef' })).status).toBe(200);
    const env = await serve([], { PORTWATCH_TOKEN: 'env-token-123456' });
    expect((await get(env.url, '/healthz')).status).toBe(401);
    expect((await get(env.url, '/healthz', { authorization: 'Bearer env-token-123456' })).status).toBe(200);
  });

  it('--events-file appends every event as NDJSON and rotates it', async () => {
    const holder = await holdSockets([]);
    const file = join(tempDir(), 'events.ndjson');
    const { cli, url } = await serve(['--pid', String(holder.pid), '--events-file', file, '--events-file-max-bytes', '1KiB']);
    const lastId = async (): Promise<number> => (JSON.parse((await get(url, '/api/events?since=0')).body) as { lastId: number }).lastId;
    for (let i = 0; i < 4; i++) {
      const { index } = await holder.open({ proto: 'tcp', host: '127.0.0.1' });
      await waitFor(async () => (await lastId()) === 2 * i + 1, `open ${i}`);
      await holder.close(index);
      await waitFor(async () => (await lastId()) === 2 * i + 2, `close ${i}`);
    }
    const logged = (JSON.parse((await get(url, '/api/events?since=0')).body) as { events: (PortEvent & { id: number })[] }).events;
    cli.child.kill('SIGTERM'); // flushes the file
    expect(await cli.exited).toEqual({ code: 0, signal: null });
    const lines = (p: string): string[] => readFileSync(p, 'utf8').split('\n').filter(Boolean);
    const current = lines(file);
    const rotated = lines(`${file}.1`);
    expect(readFileSync(file).length).toBeLessThanOrEqual(1024);
    expect(readFileSync(`${file}.1`).length).toBeLessThanOrEqual(1024);
    expect(existsSync(`${file}.2`)).toBe(false);
    // The two files hold the newest events, exactly as the API logged them (PortEvent JSON, one per line).
    const kept = [...rotated, ...current];
    expect(kept.length).toBeGreaterThanOrEqual(2);
    const expected = logged.slice(-kept.length).map(({ id: _id, ...event }) => JSON.stringify(event));
    expect(kept).toEqual(expected);
    expect(Object.keys(JSON.parse(kept[0] as string) as object)).toEqual(['type', 'time', 'listener']);
  });

  it('--allow-host and --no-proxy', async () => {
    const { url } = await serve(['--allow-host', 'devbox,other.example', '--allow-host', 'third', '--no-proxy']);
    for (const host of ['devbox', 'other.example:8080', 'third']) expect((await get(url, '/healthz', { host })).status, host).toBe(200);
    expect((await get(url, '/healthz', { host: 'evil.example' })).status).toBe(403);
    expect((await get(url, '/proxy/22/')).status).toBe(404);
  });
});

describe('portwatch serve: usage errors (exit 2, one line)', () => {
  it.each([
    [['serve', '--listen', '0.0.0.0:0'], /^portwatch: refusing to listen on 0\.0\.0\.0 without a token: .*give --token or --token-file/],
    [['serve', '--listen', '[::]:0'], /refusing to listen on :: without a token/],
    [['serve', '--listen', 'nonsense:port'], /invalid --listen 'nonsense:port'/],
    [['serve', '--token', 'a', '--token-file', '/x'], /--token and --token-file cannot be used together/],
    [['serve', '--token-file', '/nonexistent/token'], /cannot read --token-file '\/nonexistent\/token': ENOENT/],
    [['serve', '--token', 'has space'], /must not contain spaces/],
    [['serve', '--events-file-max-bytes', '1MiB'], /--events-file-max-bytes needs --events-file/],
    [['serve', '--events-file', '/tmp/x.ndjson', '--events-file-max-bytes', 'lots'], /invalid --events-file-max-bytes 'lots'/],
    [['serve', '--events-file', '/nonexistent/dir/events.ndjson'], /cannot write the events file '\/nonexistent\/dir\/events\.ndjson'/],
    [['serve', '--history', '0'], /invalid --history '0'/],
    [['serve', '--max-body-bytes', '-5'], /invalid --max-body-bytes/],
    [['serve', '--interval', '1ms'], /interval 1ms is too short/],
    [['serve', '--port', 'abc'], /invalid port 'abc'/],
  ])('%j', async (args, message) => {
    const r = await runCli(args, { env: { PORTWATCH_TOKEN: '' } });
    expect(r.stderr).toMatch(message);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('an empty token file is refused', async () => {
    const file = join(tempDir(), 'empty');
    writeFileSync(file, '\n');
    const r = await runCli(['serve', '--token-file', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/the token from --token-file '.*' is empty/);
  });

  it('a port in use is refused with exit 2', async () => {
    const first = await serve([]);
    const r = await runCli(['serve', '--listen', `127.0.0.1:${first.port}`]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(`portwatch: cannot listen on 127.0.0.1:${first.port}: the address is in use`);
  });
});

describe('resolveToken', () => {
  it('--token, else --token-file (one trailing newline removed), else PORTWATCH_TOKEN, else none', () => {
    const file = join(tempDir(), 't');
    writeFileSync(file, 'from-file\r\n');
    expect(resolveToken({ token: 'x' }, {})).toBe('x');
    expect(resolveToken({ tokenFile: file }, { PORTWATCH_TOKEN: 'env' })).toBe('from-file');
    expect(resolveToken({}, { PORTWATCH_TOKEN: 'env' })).toBe('env');
    expect(resolveToken({}, { PORTWATCH_TOKEN: '' })).toBeNull();
    expect(resolveToken({}, {})).toBeNull();
  });
});
