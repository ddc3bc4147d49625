/**
 * Load: 200 concurrent SSE clients on a real `portwatch serve` process while 50 listeners
 * open and close at random for a bounded time. Every client must receive every event the
 * server logged, in order, nothing lost or repeated; the server's memory must stay bounded;
 * everything is stopped afterwards.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request, type ClientRequest } from 'node:http';
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startCli, type LiveCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/processes.js';
import { httpGet } from './helpers.js';

const CLIENTS = 200;
const LISTENERS = 50;
const CHURN_MS = 3_000;

/** A lean SSE client: keeps a running hash of `id\ndata\n` in order, and checks ids are consecutive. */
class CountingClient {
  count = 0;
  lastId = 0;
  outOfOrder = 0;
  ended = false;
  private readonly hash = createHash('sha256');
  private buffer = '';
  private readonly req: ClientRequest;

  constructor(port: number) {
    this.req = request(
      { host: '127.0.0.1', port, path: '/api/events', headers: { host: `localhost:${port}`, accept: 'text/event-stream' }, agent: false },
      (res) => {
        res.setEncoding('utf8');
        res.on('data', (text: string) => this.feed(text));
        res.on('close', () => (this.ended = true));
      },
    );
    this.req.on('error', () => (this.ended = true));
    this.req.end();
  }

  digest(): string {
    return this.hash.copy().digest('hex');
  }

  close(): void {
    this.req.destroy();
  }

  private feed(text: string): void {
    this.buffer += text;
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      let id: number | null = null;
      let data: string | null = null;
      let named = false;
      for (const line of block.split('\n')) {
        if (line.startsWith('id: ')) id = Number(line.slice(4));
        else if (line.startsWith('data: ')) data = line.slice(6);
        else if (line.startsWith('event: ')) named = true;
      }
      if (id === null || data === null || named) continue;
      if (id !== this.lastId + 1) this.outOfOrder++;
      this.lastId = id;
      this.count++;
      this.hash.update(`${id}\n${data}\n`);
    }
  }
}

function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

let serve: LiveCli | null = null;
const clients: CountingClient[] = [];
const listeners = new Set<Server>();
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all([...listeners].map((s) => new Promise<void>((r) => s.close(() => r()))));
  listeners.clear();
  if (serve && serve.child.exitCode === null && serve.child.signalCode === null) serve.child.kill('SIGKILL');
  await serve?.exited;
  serve = null;
});

describe('load', () => {
  it(`${CLIENTS} SSE clients, ${LISTENERS} listeners opening and closing: every client gets every event in order; memory bounded`, async () => {
    serve = startCli(['serve', '--listen', '127.0.0.1:0', '--pid', String(process.pid), '--interval', '50ms', '--history', '100000']);
    const live = serve;
    const url = await waitFor(() => /serving (http:\/\/\S+)/.exec(live.stderr())?.[1], 'the serving line');
    const port = Number(new URL(url).port);
    await waitFor(() => live.stderr().includes('watching'), 'the first scan');

    for (let i = 0; i < CLIENTS; i++) clients.push(new CountingClient(port));
    await waitFor(
      async () => (JSON.parse((await httpGet(port, '/healthz')).body) as { sseClients: number }).sseClients === CLIENTS,
      `${CLIENTS} clients to connect`,
    );
    const baseline = rssBytes(live.child.pid as number);
    let peak = baseline;

    // 50 slots, each opening and closing a listener at random intervals, for CHURN_MS.
    const stopAt = Date.now() + CHURN_MS;
    const slot = async (): Promise<void> => {
      while (Date.now() < stopAt) {
        const s = createServer((c) => c.destroy());
        listeners.add(s);
        await new Promise<void>((r) => s.listen(0, Math.random() < 0.5 ? '127.0.0.1' : '::1', () => r()));
        await new Promise((r) => setTimeout(r, 20 + Math.random() * 150));
        await new Promise<void>((r) => s.close(() => r()));
        listeners.delete(s);
        await new Promise((r) => setTimeout(r, 10 + Math.random() * 100));
      }
    };
    const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(live.child.pid as number))), 100);
    try {
      await Promise.all(Array.from({ length: LISTENERS }, slot));
      // All closed now: wait until the server has seen every close.
      await waitFor(
        async () => (JSON.parse((await httpGet(port, '/api/listeners')).body) as unknown[]).length === 0,
        'every close to be seen',
      );
    } finally {
      clearInterval(sampler);
    }

    const log = JSON.parse((await httpGet(port, '/api/events?since=0')).body) as {
      lastId: number;
      complete: boolean;
      events: { id: number; type: string; time: string; listener: { port: number; inode: number } }[];
    };
    expect(log.complete).toBe(true);
    expect(log.events.map((e) => e.id)).toEqual(Array.from({ length: log.lastId }, (_, i) => i + 1));
    expect(log.lastId).toBeGreaterThanOrEqual(200); // the churn really happened
    // Each listener (socket) opened once, then closed once.
    const perSocket = new Map<string, string[]>();
    for (const e of log.events) {
      const key = `${e.listener.port}/${e.listener.inode}`;
      perSocket.set(key, [...(perSocket.get(key) ?? []), e.type]);
    }
    for (const [key, types] of perSocket) expect(types, key).toEqual(['open', 'close']);

    // Every client: every event, in order, byte for byte what the server logged.
    const expected = createHash('sha256');
    for (const { id, ...event } of log.events) expected.update(`${id}\n${JSON.stringify(event)}\n`);
    const want = expected.digest('hex');
    await waitFor(() => clients.every((c) => c.lastId === log.lastId), 'every client to receive the last event', 15_000);
    const summary = clients.map((c) => ({ count: c.count, outOfOrder: c.outOfOrder, ended: c.ended, same: c.digest() === want }));
    expect(summary.filter((s) => s.count !== log.lastId || s.outOfOrder !== 0 || s.ended || !s.same)).toEqual([]);

    const health = JSON.parse((await httpGet(port, '/healthz')).body) as { sseClients: number };
    expect(health.sseClients).toBe(CLIENTS); // none dropped as too slow
    const growth = peak - baseline;
    console.log(
      `load: ${log.lastId} events to ${CLIENTS} clients; server RSS ${(baseline / 2 ** 20).toFixed(0)} MiB → peak ${(peak / 2 ** 20).toFixed(0)} MiB`,
    );
    expect(growth).toBeLessThan(96 * 2 ** 20);
    expect(peak).toBeLessThan(320 * 2 ** 20);

    // Everything stops: clients first see their streams end on SIGTERM, and the server exits 0.
    live.child.kill('SIGTERM');
    expect(await live.exited).toEqual({ code: 0, signal: null });
    await waitFor(() => clients.every((c) => c.ended), 'every stream to end');
  }, 60_000);
});
