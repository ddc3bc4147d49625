/**
 * One engine per `portwatch mcp` process, seen from outside: the built CLI over stdio with
 * the SDK's client, its file descriptors counted by its pid while tools and waits run.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterEach, describe, expect, it } from 'vitest';
import { createMcpEngine } from '../../src/mcp/engine.js';
import { sockDiagUnavailableReason } from '../../src/sources/sock-diag-addon.js';
import type { RawSocket, Source } from '../../src/sources/source.js';
import { CLI } from '../helpers/cli.js';
import { call, type ListenerJson, type Structured } from '../helpers/mcp-client.js';
import { holdSockets, stopAll, waitFor } from '../helpers/processes.js';
import { handTrigger, heldFirstSearch, withOwnerSearch } from '../helpers/late-owners.js';
import { requireTracefs } from '../helpers/tracefs.js';

const clients: Client[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await stopAll();
});

/** `portwatch mcp ARGS` as a client configuration starts it; its pid for counting. */
async function startServer(args: string[]): Promise<{ client: Client; pid: number }> {
  const env = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
  const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, 'mcp', ...args], env, stderr: 'inherit' });
  const client = new Client({ name: 'portwatch-test', version: '1.0.0' });
  await client.connect(transport);
  clients.push(client);
  await client.listTools(); // from now on results are checked against the published output schemas
  const pid = transport.pid;
  if (pid === null) throw new Error('the mcp server has no pid');
  return { client, pid };
}

function fdTargets(pid: number): string[] {
  return readdirSync(`/proc/${pid}/fd`).map((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      return ''; // closed since the listing
    }
  });
}

/**
 * Distinct NETLINK_SOCK_DIAG sockets (protocol 4 in /proc/net/netlink) the process's fds refer
 * to, matched by inode: the change poller's dup of the scans' socket is the same socket.
 */
function sockDiagSockets(pid: number): number {
  const rows = readFileSync('/proc/net/netlink', 'utf8').trim().split('\n').slice(1);
  const inodes = new Set(
    rows
      .map((row) => row.trim().split(/\s+/))
      .filter((cols) => cols[1] === '4')
      .map((cols) => cols[cols.length - 1]),
  );
  return new Set(fdTargets(pid).filter((t) => inodes.has(/^socket:\[(\d+)\]$/.exec(t)?.[1]))).size;
}

/** trace_pipe readers of tracefs instances the process holds open. */
function tracePipeReaders(pid: number): number {
  return fdTargets(pid).filter((t) => /\/instances\/portwatch-\d+\/trace_pipe$/.test(t)).length;
}

function instanceOf(pid: number): boolean {
  for (const root of ['/sys/kernel/tracing', '/sys/kernel/debug/tracing']) {
    try {
      if (readdirSync(`${root}/instances`).includes(`portwatch-${pid}`)) return true;
    } catch {
      // not mounted there
    }
  }
  return false;
}

/** The holder's listener on 127.0.0.1: other programs on this host may listen on the same port on another address. */
function ownedBy(pid: number): unknown {
  return expect.objectContaining({ address: '127.0.0.1', process: expect.objectContaining({ pid }) });
}

async function unusedPorts(n: number): Promise<number[]> {
  const holder = await holdSockets([]);
  const ports: number[] = [];
  for (let i = 0; i < n; i++) ports.push((await holder.open({ proto: 'tcp', host: '127.0.0.1' })).port);
  await holder.stop();
  return ports;
}

function requireSockDiag(ctx: { skip: (note?: string) => void }): void {
  const reason = sockDiagUnavailableReason();
  if (reason === null) return;
  if (process.env.PORTWATCH_REQUIRE_NATIVE === '1') throw new Error(`native addon not built: ${reason}`);
  ctx.skip(`native addon not built: ${reason}`);
}

/**
 * Three waits for ports that open a little later, a list and an event wait, all at once;
 * the server's sockets counted while they run and after. Returns the largest counts seen.
 */
async function busySession(client: Client, pid: number): Promise<{ sockDiag: number; readers: number }> {
  const ports = await unusedPorts(3);
  const { cursor } = await call(client, 'get_port_events', {});
  const waits = ports.map((port) => call(client, 'wait_for_port', { port, timeout_ms: 20_000 }));
  const list = call(client, 'list_listening_ports', {});
  const events = call(client, 'get_port_events', { since: cursor, wait_ms: 10_000 });
  const seen = { sockDiag: 0, readers: 0 };
  const count = (): void => {
    seen.sockDiag = Math.max(seen.sockDiag, sockDiagSockets(pid));
    seen.readers = Math.max(seen.readers, tracePipeReaders(pid));
  };
  // While all five calls are in the server (the waits look again and again), then after.
  for (let i = 0; i < 10; i++) {
    count();
    await new Promise((r) => setTimeout(r, 30));
  }
  await list;
  const holder = await holdSockets([]);
  for (const port of ports) await holder.open({ proto: 'tcp', host: '127.0.0.1', port });
  const answers: Structured[] = await Promise.all(waits);
  const ours = ownedBy(holder.pid);
  answers.forEach((a, i) => expect(a).toMatchObject({ status: 'listening', port: ports[i], listeners: expect.arrayContaining([ours]) }));
  await events;
  count();
  return seen;
}

describe('portwatch mcp: one engine per process', () => {
  it('with kernel events: every tool and three concurrent waits share one sock_diag socket and one tracefs reader', async (ctx) => {
    requireSockDiag(ctx);
    requireTracefs(ctx);
    const { client, pid } = await startServer(['--source', 'sockdiag', '--trigger', 'tracefs']);
    await call(client, 'who_owns_port', { port: 1 });
    const seen = await busySession(client, pid);
    expect(seen).toEqual({ sockDiag: 1, readers: 1 });
    expect(instanceOf(pid)).toBe(true);
  });

  it('polling: every tool and three concurrent waits share one sock_diag socket, and no tracefs instance is made', async (ctx) => {
    requireSockDiag(ctx);
    const { client, pid } = await startServer(['--source', 'sockdiag', '--trigger', 'poll']);
    await call(client, 'who_owns_port', { port: 1 });
    const seen = await busySession(client, pid);
    expect(seen).toEqual({ sockDiag: 1, readers: 0 });
    expect(instanceOf(pid)).toBe(false);
  });
});

describe('portwatch mcp: answers from the shared watcher', () => {
  it('with kernel events, wait_for_port answers a listen() at once, not at the next scan of a long interval', async (ctx) => {
    requireTracefs(ctx);
    const { client } = await startServer(['--interval', '30s']);
    await call(client, 'list_listening_ports', { port: 1 }); // the first scan (and its owner walk) is done
    const [port] = (await unusedPorts(1)) as [number];
    const wait = call(client, 'wait_for_port', { port, timeout_ms: 10_000 });
    await new Promise((r) => setTimeout(r, 300)); // its first look is done: nothing listens yet
    const holder = await holdSockets([]);
    await holder.open({ proto: 'tcp', host: '127.0.0.1', port });
    const opened = performance.now();
    const r = await wait;
    // Polling would answer at the next scan, 30 s after the first one: after timeout_ms.
    const ours = ownedBy(holder.pid);
    expect(r).toMatchObject({ status: 'listening', port, listeners: expect.arrayContaining([ours]) });
    expect(performance.now() - opened).toBeLessThan(2_000);
  });

  it('a tool looks after it is called, not at the watcher’s last scan, even when that scan was 30 s ago', async () => {
    const { client } = await startServer(['--trigger', 'poll', '--interval', '30s']);
    const holder = await holdSockets([]);
    const { index, port } = await holder.open({ proto: 'tcp', host: '127.0.0.1' });
    const mine = async (tool: string): Promise<number> =>
      ((await call(client, tool, { port })).listeners as ListenerJson[]).filter((l) => l.process?.pid === holder.pid).length;
    expect(await mine('list_listening_ports')).toBe(1);
    await holder.close(index);
    expect(await mine('list_listening_ports')).toBe(0);
    expect(await mine('who_owns_port')).toBe(0);
    await holder.open({ proto: 'tcp', host: '127.0.0.1', port });
    expect(await mine('who_owns_port')).toBe(1);
  });
});

describe('the engine: a look starts after the call', () => {
  const listening = (port: number): RawSocket => ({
    protocol: 'tcp',
    family: 4,
    address: '127.0.0.1',
    port,
    inode: port,
    uid: 0,
    v6only: null,
  });

  it('scanNow() never answers with a scan that was already running when it was called', async () => {
    // A source of the library user's own: each scan reads the table as it starts, and ends when released.
    let table = [listening(1111)];
    const gates: (() => void)[] = [];
    const source: Source = {
      name: 'procfs',
      scan: async () => {
        const read = table;
        await new Promise<void>((resolve) => gates.push(resolve));
        return read;
      },
    };
    const engine = createMcpEngine({ scan: { source, owners: false }, interval: 60_000 });
    try {
      await waitFor(() => gates.length === 1, 'the first scan to start');
      table = [listening(2222)]; // 1111 closes and 2222 opens while that scan runs
      const now = engine.scanNow();
      gates.shift()?.(); // the first scan ends, with what it read before the call
      await waitFor(() => gates.length === 1, 'a scan asked for by scanNow()');
      gates.shift()?.();
      expect((await now).map((l) => l.port)).toEqual([2222]);
    } finally {
      for (const release of gates.splice(0)) release();
      await engine.close();
    }
  });

  it('scanNow() answers with owners: a look whose owner search went on (a listen during a long first walk) is not handed over', async () => {
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
    const first = holder.ports[0] as number;
    const search = heldFirstSearch();
    const hand = handTrigger();
    const engine = withOwnerSearch(search.owners, () => createMcpEngine({ scan: { trigger: hand.trigger }, interval: 60_000 }));
    try {
      await search.started;
      const now = engine.scanNow();
      const { port } = await holder.open({ proto: 'tcp', host: '127.0.0.1' });
      hand.hint({ kind: 'listen', port, tid: holder.pid }); // the first scan goes on without its owners
      await waitFor(() => engine.watcher.snapshot().some((l) => l.port === port), 'the scan that reports the new listener');
      let answered = false;
      void now.then(() => (answered = true));
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(answered).toBe(false); // its looks so far had owners pending
      search.release();
      const listeners = await now;
      expect(listeners.find((l) => l.port === first)?.process?.pid).toBe(holder.pid);
      expect(listeners.find((l) => l.port === port)?.process?.pid).toBe(holder.pid);
    } finally {
      search.release();
      await engine.close();
    }
  });
});
