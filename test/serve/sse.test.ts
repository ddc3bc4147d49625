import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SseHub, formatSseComment, formatSseMessage } from '../../src/serve/sse.js';
import { closeAll, SseClient } from './helpers.js';

describe('formatSseMessage', () => {
  it('id, event, retry, then one data line per line, then a blank line', () => {
    expect(formatSseMessage({ id: 7, data: '{"a":1}' })).toBe('id: 7\ndata: {"a":1}\n\n');
    expect(formatSseMessage({ event: 'update', data: 'x' })).toBe('event: update\ndata: x\n\n');
    expect(formatSseMessage({ id: 'a', event: 'e', retry: 1500, data: 'l1\nl2\r\nl3\rl4' })).toBe(
      'retry: 1500\nid: a\nevent: e\ndata: l1\ndata: l2\ndata: l3\ndata: l4\n\n',
    );
    expect(formatSseMessage({ data: '' })).toBe('data: \n\n');
  });

  it('refuses line breaks in id and event, which would forge fields', () => {
    expect(() => formatSseMessage({ id: '1\ndata: x', data: '' })).toThrow(/line breaks/);
    expect(() => formatSseMessage({ event: 'a\rb', data: '' })).toThrow(/line breaks/);
  });

  it('comments', () => {
    expect(formatSseComment('heartbeat')).toBe(': heartbeat\n\n');
    expect(formatSseComment('a\nb')).toBe(': a\n: b\n\n');
  });
});

describe('SseHub over real HTTP', () => {
  let server: Server | null = null;
  afterEach(async () => {
    await closeAll();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    server = null;
  });

  async function serve(hub: SseHub): Promise<number> {
    server = createServer((req, res) => hub.accept(req, res, formatSseComment('hello')));
    await new Promise<void>((r) => server?.listen(0, '127.0.0.1', () => r()));
    return (server.address() as AddressInfo).port;
  }

  it('fans a message out to every client, counts them, and sends heartbeats', async () => {
    const counts: number[] = [];
    const hub = new SseHub({ heartbeatMs: 40, onCount: (n) => counts.push(n) });
    const port = await serve(hub);
    const clients = [new SseClient(port, '/'), new SseClient(port, '/'), new SseClient(port, '/')];
    await Promise.all(clients.map((c) => c.opened));
    await clients[0]?.until(() => hub.size === 3, 'three clients');
    expect(clients[0]?.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(clients[0]?.headers['cache-control']).toBe('no-store');
    hub.broadcast(formatSseMessage({ id: 1, data: 'one' }));
    hub.broadcast(formatSseMessage({ id: 2, data: 'two' }));
    for (const c of clients) await c.until((x) => x.messages.length === 2, 'two messages');
    for (const c of clients)
      expect(c.messages).toEqual([
        { id: '1', event: 'message', data: 'one' },
        { id: '2', event: 'message', data: 'two' },
      ]);
    // 1 comment ("hello") at connect; heartbeats arrive after that.
    for (const c of clients) await c.until((x) => x.comments >= 3, 'heartbeats');
    clients[1]?.close();
    await clients[0]?.until(() => hub.size === 2, 'the closed client to be removed');
    hub.close();
    for (const c of [clients[0], clients[2]]) await c?.until((x) => x.ended, 'the stream to end');
    expect(hub.size).toBe(0);
    expect(counts.at(-1)).toBe(0);
  });

  it('drops a client that does not read, instead of buffering without bound', async () => {
    const hub = new SseHub({ maxBufferedBytes: 64 * 1024 });
    const port = await serve(hub);
    const { connect } = await import('node:net');
    const stuck = connect(port, '127.0.0.1');
    stuck.write(`GET / HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n`);
    stuck.pause(); // never reads
    const reader = new SseClient(port, '/');
    await reader.opened;
    await reader.until(() => hub.size === 2, 'both clients');
    const big = formatSseMessage({ data: 'x'.repeat(16 * 1024) });
    for (let i = 0; i < 2000 && hub.size === 2; i++) {
      hub.broadcast(big);
      await new Promise((r) => setImmediate(r));
    }
    expect(hub.size).toBe(1);
    expect(hub.dropped).toBe(1);
    expect(reader.ended).toBe(false);
    stuck.destroy();
    hub.close();
  });

  it('refuses new streams after close', async () => {
    const hub = new SseHub();
    const port = await serve(hub);
    hub.close();
    const c = new SseClient(port, '/');
    await c.opened;
    expect(c.status).toBe(503);
  });
});
