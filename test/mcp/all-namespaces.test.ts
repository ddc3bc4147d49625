/**
 * `portwatch mcp -A`: every tool sees every network namespace of the host. The built CLI over
 * stdio with the SDK's client, against namespaces made by `unshare --net` that listen on the
 * SAME port: lists name each with its netns, a wait sees a namespace made after it began,
 * stop_port refuses the ambiguous port and stops the one named.
 */
import { readlinkSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, runCli } from '../helpers/cli.js';
import { call, callError, textOf, type Structured } from '../helpers/mcp-client.js';
import { holdSockets, netnsSupport, stopAll, waitFor, type Holder } from '../helpers/processes.js';

const ns = netnsSupport();
const why = !ns.ok ? ns.reason : process.getuid?.() !== 0 ? 'reading every namespace needs root' : null;

const clients: Client[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await stopAll();
});

interface L {
  protocol: string;
  port: number;
  netns: string | null;
  container?: unknown;
  process: { pid: number } | null;
}

/** `portwatch mcp ARGS` as an MCP client configuration starts it. */
async function startServer(args: string[]): Promise<Client> {
  const env = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
  const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, 'mcp', ...args], env, stderr: 'inherit' });
  const client = new Client({ name: 'portwatch-test', version: '1.0.0' });
  await client.connect(transport);
  clients.push(client);
  await client.listTools(); // from now on results are checked against the published output schemas
  return client;
}

function netnsOf(pid: number): string {
  return /net:\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/ns/net`))?.[1] as string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A port nothing on this host listens on (in our namespace; the namespaces made here are new). */
async function freshPort(): Promise<number> {
  const probe = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
  const port = probe.ports[0] as number;
  await probe.stop();
  return port;
}

describe.skipIf(why !== null).each(['auto', 'poll'])('portwatch mcp -A (trigger %s)', (trigger) => {
  it('lists a port that listens in two namespaces once per namespace, waits across namespaces, stops only the one named', async () => {
    const port = await freshPort();
    const later = await freshPort(); // before the server starts: its own open and close are no events
    const a = await holdSockets([{ proto: 'tcp', host: '0.0.0.0', port }], { netns: true });
    const b = await holdSockets([{ proto: 'tcp', host: '0.0.0.0', port }], { netns: true });
    const [nsA, nsB] = [netnsOf(a.pid), netnsOf(b.pid)];
    expect(nsA).not.toBe(nsB);
    const client = await startServer(['-A', '--no-config', '--trigger', trigger]);

    // The tools offer a scope (netns, container) in host mode.
    const tools = (await client.listTools()).tools;
    for (const name of ['list_listening_ports', 'wait_for_port', 'who_owns_port', 'stop_port'])
      expect(Object.keys(tools.find((t) => t.name === name)?.inputSchema.properties ?? {})).toEqual(
        expect.arrayContaining(['netns', 'container']),
      );

    // list: both, each with its own netns, the owner attributed.
    const list = await call(client, 'list_listening_ports', { port });
    const listed = list.listeners as L[];
    expect(listed.map((l) => [l.netns, l.process?.pid]).sort()).toEqual(
      [
        [nsA, a.pid],
        [nsB, b.pid],
      ].sort(),
    );
    for (const l of listed) expect(l.container).toBeNull();
    expect(list.count).toBe(2);
    const listText = textOf(await client.callTool({ name: 'list_listening_ports', arguments: { port } }));
    expect(listText).toMatch(/^NETNS\s+CONTAINER\s+PROTO/m);
    expect(listText).toContain(nsA);
    expect(listText).toContain(nsB);
    const onlyB = await call(client, 'list_listening_ports', { port, netns: Number(nsB) });
    expect((onlyB.listeners as L[]).map((l) => l.process?.pid)).toEqual([b.pid]);

    // who_owns_port: both, each named by its namespace.
    const who = await client.callTool({ name: 'who_owns_port', arguments: { port } });
    expect(((who.structuredContent as Structured).listeners as L[]).map((l) => l.netns).sort()).toEqual([nsA, nsB].sort());
    expect(textOf(who)).toContain(`in netns ${nsA}`);
    expect(textOf(who)).toContain(`in netns ${nsB}`);

    // wait_for_port: a namespace that does not exist yet when the wait begins.
    const before = await call(client, 'list_listening_ports', { port: later });
    expect(before.count).toBe(0);
    const waiting = call(client, 'wait_for_port', { port: later, timeout_ms: 20_000 });
    let c: Holder | null = null;
    const cMade = holdSockets([{ proto: 'tcp', host: '0.0.0.0', port: later }], { netns: true }).then((h) => (c = h));
    const waited = await waiting;
    await cMade;
    const cPid = (c as Holder | null)?.pid as number;
    expect(waited).toMatchObject({ status: 'listening', port: later });
    expect((waited.listeners as L[]).map((l) => [l.netns, l.process?.pid])).toEqual([[netnsOf(cPid), cPid]]);
    expect([nsA, nsB]).not.toContain(netnsOf(cPid));

    // stop_port: the port listens in two namespaces, so it is refused and nothing is signalled…
    const refused = await callError(client, 'stop_port', { port });
    expect(refused).toMatch(new RegExp(`tcp port ${port} listens in 2 network namespaces; nothing was signalled`));
    expect(refused).toContain(`netns ${nsA}`);
    expect(refused).toContain(`netns ${nsB}`);
    expect(await callError(client, 'stop_port', { port, dry_run: true })).toMatch(/listens in 2 network namespaces/);
    expect(alive(a.pid) && alive(b.pid)).toBe(true);

    // …until the call names the namespace: only that one is stopped.
    const stopped = await client.callTool({ name: 'stop_port', arguments: { port, netns: nsA } });
    expect(stopped.isError ?? false, textOf(stopped)).toBe(false);
    expect(stopped.structuredContent).toMatchObject({
      port,
      free: true,
      actions: [{ pid: a.pid, outcome: 'stopped' }],
      still_listening: [],
    });
    expect(textOf(stopped)).toContain(`tcp port ${port} is free in netns ${nsA}`);
    await waitFor(() => !alive(a.pid), `pid ${a.pid} to exit`);
    expect(alive(b.pid)).toBe(true);
    const left = await call(client, 'who_owns_port', { port });
    expect((left.listeners as L[]).map((l) => [l.netns, l.process?.pid])).toEqual([[nsB, b.pid]]);

    // Events carry the namespace too: C's open, A's close.
    const events = (await call(client, 'get_port_events', {})).events as { type: string; listener: L }[];
    expect(events.filter((e) => e.listener.port === later).map((e) => [e.type, e.listener.netns])).toEqual([['open', netnsOf(cPid)]]);
    expect(events.filter((e) => e.listener.port === port).map((e) => [e.type, e.listener.netns])).toEqual([['close', nsA]]);

    // One namespace left: no scope needed; a container that does not exist holds nothing.
    const none = await call(client, 'stop_port', { port, container: 'no-such-container', dry_run: true });
    expect(none).toMatchObject({ actions: [], message: `nothing listens on tcp port ${port} in container no-such-container` });
    const last = await call(client, 'stop_port', { port });
    expect(last).toMatchObject({ free: true, actions: [{ pid: b.pid, outcome: 'stopped' }] });
    expect(last.message).toContain(`is free in netns ${nsB}`);
  }, 90_000);
});

describe('portwatch mcp -A: usage', () => {
  it('refuses what cannot go with every namespace, in one line, with exit 2', async () => {
    const interval = await runCli(['mcp', '-A', '--interval', '50ms']);
    expect(interval.code).toBe(2);
    expect(interval.stderr.trim().split('\n')).toHaveLength(1);
    expect(interval.stderr).toMatch(/--interval cannot be used with -A/);
    const pid = await runCli(['mcp', '-A', '--netns-pid', String(process.pid)]);
    expect(pid.code).toBe(2);
    expect(pid.stderr).toMatch(/cannot be combined/);
    const ss = await runCli(['mcp', '--container', 'web', '--source', 'ss']);
    expect(ss.code).toBe(2);
    expect(ss.stderr).toMatch(/--container reads namespaces with sockdiag or procfs, not ss/);
  });

  it('offers no scope arguments without -A', async () => {
    const client = await startServer(['--no-config']);
    const stop = (await client.listTools()).tools.find((t) => t.name === 'stop_port');
    expect(Object.keys(stop?.inputSchema.properties ?? {})).not.toContain('netns');
  });
});
