import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI } from '../helpers/cli.js';
import { call, closeMcp, connectStdio as connect, type ListenerJson as L } from '../helpers/mcp-client.js';
import { holdSockets, stopAll } from '../helpers/processes.js';

const LISTEN_PY = fileURLToPath(new URL('../helpers/listen.py', import.meta.url));

const dirs: string[] = [];
const extra: ChildProcess[] = [];
afterEach(async () => {
  await closeMcp();
  for (const p of extra.splice(0)) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  await stopAll();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(files: Record<string, string> = {}): string {
  const d = mkdtempSync(join(tmpdir(), 'portwatch-mcp-'));
  dirs.push(d);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(d, name), text);
  return d;
}

describe('portwatch mcp: tools through the SDK client over stdio', () => {
  it('offers four read-only tools and one destructive one (stop_port), with JSON schemas for input and output', async () => {
    const client = await connect();
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([
      'get_port_events',
      'list_listening_ports',
      'stop_port',
      'wait_for_port',
      'who_owns_port',
    ]);
    for (const t of tools) {
      expect(t.inputSchema.type).toBe('object');
      expect(t.outputSchema?.type).toBe('object');
      expect(t.annotations?.readOnlyHint).toBe(t.name !== 'stop_port');
      if (t.name === 'stop_port') expect(t.annotations?.destructiveHint).toBe(true);
      expect(t.description?.length).toBeGreaterThan(40);
      expect(JSON.stringify(t.inputSchema)).not.toContain('$ref');
      expect(JSON.stringify(t.outputSchema)).not.toContain('$ref');
    }
    const wait = tools.find((t) => t.name === 'wait_for_port');
    expect(wait?.inputSchema.required).toEqual(['port']);
    expect(client.getServerVersion()).toMatchObject({ name: 'portwatch' });
  });

  it('list_listening_ports: filters by protocol, port range and process; labels and hides by the rules', async () => {
    const holder = await holdSockets([
      { proto: 'tcp', host: '127.0.0.1' },
      { proto: 'udp', host: '127.0.0.1' },
      { proto: 'tcp', host: '::1' },
    ]);
    const [tcp, udp, hidden] = holder.ports as [number, number, number];
    const cwd = tempDir({
      'portwatch.json': JSON.stringify({ label: [{ port: tcp, label: 'web' }], ignore: [{ port: hidden }] }),
    });
    const client = await connect([], cwd);
    const lo = Math.min(tcp, udp, hidden);
    const hi = Math.max(tcp, udp, hidden);
    const all = await call(client, 'list_listening_ports', { process: '^python3$', min_port: lo, max_port: hi });
    const mine = (all.listeners as L[]).filter((l) => l.process?.pid === holder.pid);
    expect(mine.map((l) => `${l.protocol} ${l.port} ${l.label}`).sort()).toEqual([`tcp ${tcp} web`, `udp ${udp} null`].sort());
    expect(all.hidden).toBeGreaterThanOrEqual(1);

    const udpOnly = await call(client, 'list_listening_ports', { protocol: 'udp', port: udp });
    expect((udpOnly.listeners as L[]).map((l) => [l.port, l.process?.pid])).toEqual([[udp, holder.pid]]);
    expect(udpOnly.count).toBe(1);

    const withIgnored = await call(client, 'list_listening_ports', { port: hidden, include_ignored: true });
    expect((withIgnored.listeners as L[]).map((l) => [l.address, l.ignored])).toEqual([['::1', `ignore rule: port ${hidden}`]]);
    const none = await call(client, 'list_listening_ports', { process: '^no-such-process$' });
    expect(none).toMatchObject({ listeners: [], count: 0 });

    const bad = await client.callTool({ name: 'list_listening_ports', arguments: { process: '(' } });
    expect(bad.isError).toBe(true);
    expect(JSON.stringify(bad.content)).toMatch(/invalid regular expression/);
  });

  it('wait_for_port: returns the listener once the port listens on any address', async () => {
    const holder = await holdSockets([]);
    const { index, port } = await holder.open({ proto: 'tcp', host: '::1' });
    await holder.close(index);
    const client = await connect();
    const waiting = call(client, 'wait_for_port', { port, timeout_ms: 20_000 });
    await holder.open({ proto: 'tcp', host: '::1', port });
    const r = await waiting;
    expect(r).toMatchObject({ status: 'listening', port });
    expect((r.listeners as L[]).map((l) => [l.address, l.port, l.process?.pid])).toEqual([['::1', port, holder.pid]]);
    expect(r.message).toMatch(new RegExp(`^tcp port ${port} is listening: tcp \\[::1\\]:${port} python3 \\(pid ${holder.pid}\\)$`));
  });

  it('wait_for_port: times out cleanly, as a result and not an error', async () => {
    const holder = await holdSockets([]);
    const { index, port } = await holder.open({ proto: 'udp', host: '127.0.0.1' });
    await holder.close(index);
    const client = await connect();
    const r = await call(client, 'wait_for_port', { port, timeout_ms: 300, protocol: 'udp' });
    expect(r).toMatchObject({
      status: 'timeout',
      port,
      listeners: [],
      message: `timed out after 300 ms: nothing is listening on udp port ${port}`,
    });
    expect(r.waited_ms).toBeGreaterThanOrEqual(300);
    const bad = await client.callTool({ name: 'wait_for_port', arguments: { port: 70000 } });
    expect(bad.isError).toBe(true);
  });

  it('get_port_events: events after a cursor, waiting for the next one; ports open at start are not events', async () => {
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
    const client = await connect();
    const first = await call(client, 'get_port_events', {});
    expect(first).toMatchObject({ missed: 0, reset: false, more: false });
    expect((first.events as { listener: L }[]).some((e) => e.listener.port === holder.ports[0])).toBe(false);

    const waiting = call(client, 'get_port_events', { since: first.cursor, wait_ms: 20_000 });
    const { index, port } = await holder.open({ proto: 'udp', host: '127.0.0.1' });
    let got = await waiting;
    let events = got.events as { type: string; listener: L }[];
    // other processes on the machine may come and go too; ours is among the events
    for (let i = 0; i < 50 && !events.some((e) => e.listener.port === port); i++) {
      got = await call(client, 'get_port_events', { since: got.cursor, wait_ms: 20_000 });
      events = events.concat(got.events as { type: string; listener: L }[]);
    }
    expect(events.find((e) => e.listener.port === port)).toMatchObject({
      type: 'open',
      listener: { protocol: 'udp', port, process: { pid: holder.pid, name: 'python3' }, label: null },
    });
    await holder.close(index);
    let closed = false;
    let cursor = got.cursor;
    for (let i = 0; i < 50 && !closed; i++) {
      const next = await call(client, 'get_port_events', { since: cursor, wait_ms: 20_000 });
      closed = (next.events as { type: string; listener: L }[]).some((e) => e.type === 'close' && e.listener.port === port);
      cursor = next.cursor;
    }
    expect(closed).toBe(true);
    const again = await call(client, 'get_port_events', { since: cursor });
    expect((again.events as { listener: L }[]).some((e) => e.listener.port === port)).toBe(false); // nothing twice

    const stale = await call(client, 'get_port_events', { since: 'ffffffff:3' });
    expect(stale.reset).toBe(true);
    const bad = await client.callTool({ name: 'get_port_events', arguments: { since: 'nonsense' } });
    expect(bad.isError).toBe(true);
    expect(JSON.stringify(bad.content)).toMatch(/invalid cursor 'nonsense'/);
  });

  it('who_owns_port: pid, name, command line and working directory', async () => {
    const cwd = tempDir();
    const py = spawn('python3', [LISTEN_PY, JSON.stringify([{ proto: 'tcp', host: '127.0.0.1' }])], {
      cwd,
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    extra.push(py);
    const hello = JSON.parse(
      await new Promise<string>((resolve) => createInterface({ input: py.stdout as NodeJS.ReadableStream }).once('line', resolve)),
    ) as { pid: number; ports: number[] };
    const port = hello.ports[0] as number;
    const client = await connect();
    const r = await call(client, 'who_owns_port', { port });
    expect(r).toMatchObject({ port, found: true });
    const [l] = r.listeners as L[];
    expect(l?.process).toMatchObject({ pid: hello.pid, name: 'python3', cwd });
    expect(l?.process?.command).toContain('listen.py');
    expect(l?.ignored).toBeNull();
    expect(r.message).toContain(`(in ${cwd})`);

    py.kill('SIGTERM');
    await new Promise((resolve) => py.once('exit', resolve));
    const gone = await call(client, 'who_owns_port', { port, protocol: 'tcp' });
    expect(gone).toMatchObject({ found: false, listeners: [], message: `nothing is listening on tcp port ${port}` });
  });
});

describe('portwatch mcp: the process', () => {
  it('writes nothing but protocol on stdout, and exits 0 when its stdin closes', async () => {
    const server = spawn(process.execPath, [CLI, 'mcp'], { stdio: ['pipe', 'pipe', 'pipe'] });
    extra.push(server);
    let out = '';
    server.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const init = {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
    };
    server.stdin.write(`${JSON.stringify(init)}\n`);
    await new Promise<void>((resolve) => server.stdout.once('data', () => resolve()));
    server.stdin.end();
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      server.once('exit', (c, s) => resolve([c, s])),
    );
    expect([code, signal]).toEqual([0, null]);
    const lines = out.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ jsonrpc: '2.0', id: 1, result: { serverInfo: { name: 'portwatch' } } });
  });

  it('a bad config is a usage error before anything is served', async () => {
    const cwd = tempDir({ 'portwatch.json': '{ "label": [{ "port": 1 }] }' });
    const server = spawn(process.execPath, [CLI, 'mcp'], { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    extra.push(server);
    let err = '';
    server.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => server.once('exit', resolve));
    expect(code).toBe(2);
    expect(err).toBe(`portwatch: ${join(cwd, 'portwatch.json')}: label[0]: a label rule needs a "label"\n`);
  });
});
