import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Listener } from '../../src/listener.js';
import type { ListenerView } from '../../src/serve/listener-table.js';
import { createServeServer, checkExposure } from '../../src/serve/server.js';
import { SESSION_COOKIE } from '../../src/serve/security.js';
import { holdSockets, stopAll, waitFor } from '../helpers/processes.js';
import { closeAll, httpGet, listenTcp, portsIn, SseClient, startServe } from './helpers.js';

const httpServers: HttpServer[] = [];
afterEach(async () => {
  await closeAll();
  for (const s of httpServers.splice(0)) {
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
  await stopAll();
});

async function htmlServer(title: string, host = '127.0.0.1'): Promise<number> {
  const s = createHttpServer((_req, res) => res.writeHead(200, { 'Content-Type': 'text/html' }).end(`<title>${title}</title>`));
  httpServers.push(s);
  await new Promise<void>((r) => s.listen(0, host, () => r()));
  return (s.address() as AddressInfo).port;
}

const json = <T>(body: string): T => JSON.parse(body) as T;

describe('GET /api/listeners', () => {
  it('lists real listeners with their process, since, seenAtStart and http', async () => {
    const holder = await holdSockets([
      { proto: 'tcp', host: '127.0.0.1' },
      { proto: 'udp', host: '::1' },
    ]);
    const server = await startServe({ filter: (l) => l.process?.pid === holder.pid });
    const r = await httpGet(server.port, '/api/listeners');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(r.headers['cache-control']).toBe('no-store');
    expect(r.headers['portwatch-last-event-id']).toBe('0');
    const listeners = json<ListenerView[]>(r.body);
    expect(listeners.map((l) => `${l.protocol} ${l.address} ${l.port} ${l.process?.pid}`)).toEqual([
      `tcp 127.0.0.1 ${holder.ports[0]} ${holder.pid}`,
      `udp ::1 ${holder.ports[1]} ${holder.pid}`,
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
      'since',
      'seenAtStart',
      'http',
      'title',
    ]);
    expect(listeners[0]).toMatchObject({ seenAtStart: true, http: null, title: null, process: { name: 'python3' } });
    expect(Date.parse(listeners[0]?.since ?? '')).not.toBeNaN();
  });

  it("does not list portwatch's own port, but does list other sockets of the same process", async () => {
    const other = await listenTcp('127.0.0.1');
    const server = await startServe({ probe: false });
    const listeners = json<ListenerView[]>((await httpGet(server.port, '/api/listeners')).body);
    const mine = listeners.filter((l) => l.process?.pid === process.pid);
    expect(mine.map((l) => l.port)).toContain(other.port);
    expect(listeners.some((l) => l.port === server.port && l.protocol === 'tcp')).toBe(false);
    expect(server.listeners().some((l) => l.port === server.port)).toBe(false);
  });

  it('tags HTTP listeners with http and their page title', async () => {
    const ports = new Set<number>();
    const server = await startServe({ filter: portsIn(ports) });
    const stream = new SseClient(server.port);
    await stream.opened;
    const port = await htmlServer('Hello from the test');
    ports.add(port);
    const update = (await stream.until((c) => c.named('update')[0], 'the update event')) as ListenerView;
    expect(update).toMatchObject({ port, http: 'http', title: 'Hello from the test', seenAtStart: false });
    const listed = json<ListenerView[]>((await httpGet(server.port, '/api/listeners')).body);
    expect(listed).toEqual([expect.objectContaining({ port, http: 'http', title: 'Hello from the test' })]);
    expect(server.metrics.registry.getSingleMetric('portwatch_http_probes_total')).toBeDefined();
    expect(await server.metrics.registry.getSingleMetricAsString('portwatch_http_probes_total')).toMatch(
      /portwatch_http_probes_total\{result="http"\} 1/,
    );
  });

  it('passes the filter and label through: label in listeners and in events', async () => {
    const ports = new Set<number>();
    const server = await startServe({ filter: portsIn(ports), label: (l: Listener) => `svc-${l.port}`, probe: false });
    const stream = new SseClient(server.port);
    await stream.opened;
    const a = await listenTcp('127.0.0.1');
    await listenTcp('127.0.0.1'); // not in the filter
    ports.add(a.port);
    const [opened] = await stream.until((c) => (c.events().length === 1 ? c.events() : null), 'the open event');
    expect(opened?.listener).toMatchObject({ port: a.port, label: `svc-${a.port}` });
    const listed = json<ListenerView[]>((await httpGet(server.port, '/api/listeners')).body);
    expect(listed.map((l) => [l.port, l.label])).toEqual([[a.port, `svc-${a.port}`]]);
  });
});

describe('silent listeners (announce option)', () => {
  it('are listed and kept live on the page, but never announced: no event, no log entry, no count', async () => {
    const ports = new Set<number>();
    const silentPorts = new Set<number>();
    const server = await startServe({ filter: portsIn(ports), announce: (l) => !silentPorts.has(l.port), probe: false });
    const stream = new SseClient(server.port);
    await stream.opened;
    const quiet = await listenTcp('127.0.0.1');
    silentPorts.add(quiet.port);
    ports.add(quiet.port);
    const loud = await listenTcp('127.0.0.1');
    ports.add(loud.port);
    await stream.until((c) => c.events().length === 1 && c.named('silent').length === 1, 'the loud event and the silent one');
    expect(stream.events().map((e) => e.port)).toEqual([loud.port]);
    expect(stream.named('silent')).toEqual([
      expect.objectContaining({ type: 'open', listener: expect.objectContaining({ port: quiet.port }) }),
    ]);
    const listed = json<ListenerView[]>((await httpGet(server.port, '/api/listeners')).body);
    expect(listed.map((l) => l.port).sort()).toEqual([quiet.port, loud.port].sort());
    const log = json<{ events: { listener: Listener }[] }>((await httpGet(server.port, '/api/events?since=0')).body);
    expect(log.events.map((e) => e.listener.port)).toEqual([loud.port]);
    expect(await server.metrics.registry.getSingleMetricAsString('portwatch_events_total')).toMatch(/type="open"\} 1$/m);
  });
});

describe('GET /api/events (Server-Sent Events)', () => {
  it('an event arrives after a listener opens, and after it closes, with ids', async () => {
    const holder = await holdSockets([]);
    const server = await startServe({ filter: (l) => l.process?.pid === holder.pid });
    const c = new SseClient(server.port);
    await c.opened;
    expect(c.status).toBe(200);
    expect(c.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(c.headers['x-accel-buffering']).toBe('no');
    const { index, port } = await holder.open({ proto: 'tcp', host: '::1' });
    await c.until((x) => x.events().length === 1, 'the open event');
    await holder.close(index);
    await c.until((x) => x.events().length === 2, 'the close event');
    const events = c.events();
    expect(events.map((e) => `${e.id} ${e.type} ${e.port}`)).toEqual([`1 open ${port}`, `2 close ${port}`]);
    const data = JSON.parse(c.messages.find((m) => m.id === '1')?.data ?? '{}') as Record<string, unknown>;
    expect(Object.keys(data)).toEqual(['type', 'time', 'listener']);
    expect(data.listener).toMatchObject({ protocol: 'tcp', family: 6, address: '::1', port, process: { pid: holder.pid } });
    expect(c.comments).toBeGreaterThanOrEqual(1);
  });

  it('resumes with Last-Event-ID: exactly the events missed, in order, then live ones', async () => {
    const ports = new Set<number>();
    const server = await startServe({ filter: portsIn(ports), probe: false });
    const first = new SseClient(server.port);
    await first.opened;
    const made = [];
    for (let i = 0; i < 3; i++) {
      const l = await listenTcp('127.0.0.1');
      ports.add(l.port);
      made.push(l);
      await first.until((x) => x.events().length === i + 1, `open ${i}`);
    }
    await made[0]?.close();
    await first.until((x) => x.events().length === 4, 'the close');
    const all = first.events();
    expect(all.map((e) => e.id)).toEqual([1, 2, 3, 4]);
    first.close();

    const resumed = new SseClient(server.port, '/api/events', { 'Last-Event-ID': '2' });
    await resumed.until((x) => x.events().length === 2, 'the replay');
    expect(resumed.events()).toEqual(all.slice(2));
    expect(resumed.named('gap')).toEqual([]);
    await made[1]?.close();
    await resumed.until((x) => x.events().length === 3, 'the live event after the replay');
    expect(resumed.events().map((e) => `${e.id} ${e.type} ${e.port}`)).toEqual([
      `3 open ${made[2]?.port}`,
      `4 close ${made[0]?.port}`,
      `5 close ${made[1]?.port}`,
    ]);
    // ?since= works for clients that cannot set headers.
    const viaQuery = new SseClient(server.port, '/api/events?since=4');
    await viaQuery.until((x) => x.events().length === 1, 'the replay via ?since');
    expect(viaQuery.events()[0]?.id).toBe(5);
  });

  it('says so with a `gap` event when the events asked for are no longer kept', async () => {
    const ports = new Set<number>();
    const server = await startServe({ filter: portsIn(ports), probe: false, history: 2 });
    const watcher = new SseClient(server.port);
    await watcher.opened;
    for (let i = 0; i < 3; i++) {
      const l = await listenTcp('127.0.0.1');
      ports.add(l.port);
      await watcher.until((x) => x.events().length === i + 1, `open ${i}`);
    }
    const late = new SseClient(server.port, '/api/events', { 'Last-Event-ID': '0' });
    await late.until((x) => x.events().length === 2, 'the kept events');
    expect(late.named('gap')).toEqual([{ requested: 0, oldestId: 2, lastId: 3 }]);
    expect(late.events().map((e) => e.id)).toEqual([2, 3]);
    const bad = await httpGet(server.port, '/api/events', { headers: { accept: 'text/event-stream', 'last-event-id': 'abc' } });
    expect(bad.status).toBe(400);
  });

  it('?snapshot=1 starts with the listeners now and the recent events', async () => {
    const ports = new Set<number>();
    const server = await startServe({ filter: portsIn(ports), probe: false });
    const c = new SseClient(server.port);
    await c.opened;
    const l = await listenTcp('::1');
    ports.add(l.port);
    await c.until((x) => x.events().length === 1, 'the open');
    const s = new SseClient(server.port, '/api/events?snapshot=1');
    const [snap] = (await s.until((x) => (x.named('snapshot').length ? x.named('snapshot') : null), 'the snapshot')) as {
      lastEventId: number;
      hostname: string;
      listeners: ListenerView[];
      events: { id: number; type: string }[];
    }[];
    expect(snap?.lastEventId).toBe(1);
    expect(snap?.listeners.map((x) => x.port)).toEqual([l.port]);
    expect(snap?.events).toEqual([expect.objectContaining({ id: 1, type: 'open' })]);
    expect(s.messages[0]?.id).toBe('1');
    await l.close();
    await s.until((x) => x.events().length === 1, 'a live event after the snapshot');
  });

  it('?since=ID without Accept: text/event-stream is JSON for pollers', async () => {
    const ports = new Set<number>();
    const server = await startServe({ filter: portsIn(ports), probe: false });
    const c = new SseClient(server.port);
    await c.opened;
    const l = await listenTcp('127.0.0.1');
    ports.add(l.port);
    await c.until((x) => x.events().length === 1, 'the open');
    await l.close();
    await c.until((x) => x.events().length === 2, 'the close');
    const all = await httpGet(server.port, '/api/events?since=0', { headers: { accept: 'application/json' } });
    expect(all.status).toBe(200);
    const body = json<{ lastId: number; oldestId: number; complete: boolean; events: { id: number; type: string; listener: Listener }[] }>(
      all.body,
    );
    expect(body).toMatchObject({ lastId: 2, oldestId: 1, complete: true });
    expect(body.events.map((e) => `${e.id} ${e.type} ${e.listener.port}`)).toEqual([`1 open ${l.port}`, `2 close ${l.port}`]);
    expect(Object.keys(body.events[0] as object)).toEqual(['id', 'type', 'time', 'listener']);
    const none = json<{ events: unknown[] }>((await httpGet(server.port, '/api/events?since=2')).body);
    expect(none.events).toEqual([]);
    expect((await httpGet(server.port, '/api/events?since=x')).status).toBe(400);
  });
});

describe('other endpoints and limits', () => {
  it('/healthz with polling: the poller thread says how it goes', async () => {
    const server = await startServe({ probe: false, filter: () => false, watchOptions: { trigger: 'poll' } });
    const health = json((await httpGet(server.port, '/healthz')).body) as { source: string; trigger: string; poller: unknown };
    expect(health.trigger).toBe('poll');
    if (health.source !== 'sockdiag') {
      if (process.env.PORTWATCH_REQUIRE_NATIVE === '1') throw new Error('the sock_diag addon did not load');
      return;
    }
    expect(health.poller).toEqual({
      intervalMs: 50,
      looks: expect.any(Number),
      changes: expect.any(Number),
      lastLookUs: expect.any(Number),
      counted: 0, // a fixed interval (50 ms) never reads the counts instead of looking
    });
  });

  it('/healthz', async () => {
    const server = await startServe({ probe: false, filter: () => false });
    const r = await httpGet(server.port, '/healthz');
    expect(r.status).toBe(200);
    expect(json(r.body)).toMatchObject({
      status: 'ok',
      listeners: 0,
      sseClients: 0,
      lastEventId: 0,
      lastError: null,
      source: expect.any(String),
      trigger: expect.stringMatching(/^(tracefs|poll)$/),
    });
    const health = json(r.body) as { source: string; trigger: string; triggerFallback: string | null; poller: unknown };
    // Polling through sock_diag looks from a thread of the addon, and says how it goes.
    expect(health.poller).toEqual(
      health.trigger === 'poll' && health.source === 'sockdiag'
        ? { intervalMs: 50, looks: expect.any(Number), changes: expect.any(Number), lastLookUs: expect.any(Number), counted: 0 }
        : null,
    );
    // as root with tracefs, auto uses it; otherwise the fallback says why
    expect(health.trigger === 'tracefs' ? health.triggerFallback : typeof health.triggerFallback).toBe(
      health.trigger === 'tracefs' ? null : 'string',
    );
    const metrics = await httpGet(server.port, '/metrics');
    expect(metrics.body.split('\n')).toContainEqual(`portwatch_watch_info{source="${health.source}",trigger="${health.trigger}"} 1`);
  });

  it('the page and its assets: same origin only (CSP), cached by ETag', async () => {
    const server = await startServe({ probe: false, filter: () => false });
    const page = await httpGet(server.port, '/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.body).toMatch(/<script src="\/assets\/app\.js\?v=[\w-]+" defer><\/script>/);
    expect(page.body).not.toMatch(/(src|href)="(https?:)?\/\//); // nothing from another origin
    const js = await httpGet(server.port, '/assets/app.js');
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.body).toContain("new EventSource('/api/events?snapshot=1')");
    const again = await httpGet(server.port, '/assets/app.js', { headers: { 'if-none-match': String(js.headers.etag) } });
    expect(again.status).toBe(304);
    expect((await httpGet(server.port, '/assets/app.css')).headers['content-type']).toBe('text/css; charset=utf-8');
  });

  it('404, 405, 413, 431 and 400 for what it does not do', async () => {
    const server = await startServe({ probe: false, filter: () => false });
    const nf = await httpGet(server.port, '/nope');
    expect(nf.status).toBe(404);
    expect(nf.body).toBe('portwatch: nothing here: /nope\nThe page is at /, the API under /api/.\n');
    const post = await httpGet(server.port, '/api/listeners', { method: 'POST', body: '{}' });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    expect((await httpGet(server.port, '/api/listeners', { body: 'x', headers: { 'content-length': '1' } })).status).toBe(413);
    const huge = await httpGet(server.port, '/', { headers: { 'x-big': 'a'.repeat(20 * 1024) } });
    expect(huge.status).toBe(431);
    const head = await httpGet(server.port, '/api/listeners', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    // absolute-form (a forward-proxy request) is refused, whatever host it names
    const abs = await new Promise<string>((resolve) => {
      const s = connect(server.port, '127.0.0.1', () =>
        s.write(`GET http://example.com/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`),
      );
      let out = '';
      s.on('data', (d) => (out += d));
      s.on('close', () => resolve(out));
    });
    expect(abs).toMatch(/^HTTP\/1\.1 400 /);
  });

  it('/metrics in Prometheus text format, from its own registry', async () => {
    const ports = new Set<number>();
    const server = await startServe({ filter: portsIn(ports), probe: false });
    const c = new SseClient(server.port);
    await c.opened;
    const l = await listenTcp('127.0.0.1');
    ports.add(l.port);
    await c.until((x) => x.events().length === 1, 'the open');
    const r = await httpGet(server.port, '/metrics');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(r.body).toMatch(/^portwatch_listeners\{protocol="tcp"\} 1$/m);
    expect(r.body).toMatch(/^portwatch_listeners\{protocol="udp"\} 0$/m);
    expect(r.body).toMatch(/^portwatch_events_total\{type="open"\} 1$/m);
    expect(r.body).toMatch(/^portwatch_events_total\{type="close"\} 0$/m);
    expect(r.body).toMatch(/^portwatch_scan_duration_seconds_count [1-9]\d*$/m);
    expect(r.body).toMatch(/^portwatch_scan_errors_total 0$/m);
    expect(r.body).toMatch(/^portwatch_sse_clients 1$/m);
    expect(r.body).toContain('# TYPE portwatch_proxy_requests_total counter');
    const { register } = await import('prom-client');
    expect(await register.getSingleMetric('portwatch_listeners')).toBeUndefined(); // not the global registry
  });

  it('close() ends event streams, stops listening and is idempotent', async () => {
    const server = await startServe({ probe: false, filter: () => false });
    const port = server.port;
    const streams = [new SseClient(port), new SseClient(port)];
    await Promise.all(streams.map((s) => s.opened));
    await waitFor(() => server.metrics.sseClients, 'clients');
    await Promise.all([server.close(), server.close()]);
    for (const s of streams) await s.until((x) => x.ended, 'the stream to end');
    await expect(httpGet(port, '/healthz')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('listen() twice binds once', async () => {
    const server = createServeServer({ host: '127.0.0.1', port: 0, processMetrics: false, probe: false, filter: () => false });
    const [a, b] = await Promise.all([server.listen(), server.listen()]);
    expect(a).toBe(b);
    expect(a.url).toBe(`http://127.0.0.1:${a.port}/`);
    await server.close();
  });

  it('an address in use is a usage error naming it', async () => {
    const taken = await listenTcp('127.0.0.1');
    const server = createServeServer({ host: '127.0.0.1', port: taken.port, processMetrics: false });
    await expect(server.listen()).rejects.toMatchObject({
      code: 'EUSAGE',
      message: `cannot listen on 127.0.0.1:${taken.port}: the address is in use`,
    });
    await server.close();
  });
});

describe('security', () => {
  it('rejects a rebinding Host on every route, and on WebSocket upgrades', async () => {
    const server = await startServe({ probe: false, filter: () => false });
    for (const path of ['/', '/api/listeners', '/api/events', '/metrics', '/healthz', '/proxy/80/']) {
      const r = await httpGet(server.port, path, { headers: { host: `attacker.example:${server.port}` } });
      expect(r.status, path).toBe(403);
      expect(r.body).toContain("Host 'attacker.example' is not allowed");
    }
    const html = await httpGet(server.port, '/', { headers: { host: 'attacker.example', accept: 'text/html' } });
    expect(html.body).toContain('DNS rebinding');
    const upgrade = await new Promise<string>((resolve) => {
      const s = connect(server.port, '127.0.0.1', () =>
        s.write(
          'GET /proxy/80/ HTTP/1.1\r\nHost: attacker.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
        ),
      );
      let out = '';
      s.on('data', (d) => (out += d));
      s.on('close', () => resolve(out));
    });
    expect(upgrade).toMatch(/^HTTP\/1\.1 403 Forbidden/);
  });

  it('answers to localhost, IP literals and --allow-host names', async () => {
    const server = await startServe({ probe: false, filter: () => false, allowHosts: ['Dev.Example.'] });
    for (const host of ['localhost', `127.0.0.1:${server.port}`, `[::1]:${server.port}`, 'dev.example.com.evil', 'dev.example:8080']) {
      const r = await httpGet(server.port, '/healthz', { headers: { host } });
      expect(r.status, host).toBe(host.endsWith('.evil') ? 403 : 200);
    }
  });

  it('sends no CORS headers, even to a cross-origin request or preflight', async () => {
    const server = await startServe({ probe: false, filter: () => false });
    const r = await httpGet(server.port, '/api/listeners', { headers: { origin: 'https://evil.example' } });
    expect(r.status).toBe(200);
    expect(Object.keys(r.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
    const pre = await httpGet(server.port, '/api/listeners', {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' },
    });
    expect(pre.status).toBe(405);
    expect(Object.keys(pre.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
  });

  describe('with a token', () => {
    const token = 'test-token-0123456789';

    it('401 without it or with a wrong one, on every route; 200 with the Bearer header', async () => {
      const server = await startServe({ probe: false, filter: () => false, token });
      for (const path of ['/', '/api/listeners', '/api/events', '/metrics', '/healthz', '/assets/app.js', '/proxy/80/', '/open/80']) {
        const none = await httpGet(server.port, path);
        expect(none.status, path).toBe(401);
        expect(none.headers['www-authenticate']).toBe('Bearer realm="portwatch"');
        expect(none.body).not.toContain(token);
        expect((await httpGet(server.port, path, { headers: { authorization: 'Bearer wrong' } })).status, path).toBe(401);
      }
      expect((await httpGet(server.port, '/api/listeners', { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
      const page = await httpGet(server.port, '/', { headers: { accept: 'text/html' } });
      expect(page.status).toBe(401);
      expect(page.body).toContain('/?token=');
    });

    it('/?token=… once in a browser sets an HttpOnly cookie and drops the token from the URL', async () => {
      const server = await startServe({ probe: false, filter: () => false, token });
      const login = await httpGet(server.port, `/?token=${token}&x=1`, { headers: { accept: 'text/html' } });
      expect(login.status).toBe(303);
      expect(login.headers.location).toBe('/?x=1');
      const cookie = String(login.headers['set-cookie']?.[0]).split(';')[0] as string;
      expect(cookie.startsWith(`${SESSION_COOKIE}=`)).toBe(true);
      expect(login.headers['set-cookie']?.[0]).toMatch(/HttpOnly/);
      expect(cookie).not.toContain(token);
      expect((await httpGet(server.port, '/', { headers: { cookie } })).status).toBe(200);
      expect((await httpGet(server.port, '/api/listeners', { headers: { cookie: `other=1; ${cookie}` } })).status).toBe(200);
      expect((await httpGet(server.port, '/?token=wrong', { headers: { accept: 'text/html' } })).status).toBe(401);
      // a program may pass ?token= too: answered directly
      const api = await httpGet(server.port, `/api/listeners?token=${encodeURIComponent(token)}`);
      expect(api.status).toBe(200);
    });

    it('/open/<PORT> carries a signed-in browser to p<PORT>.localhost with a single-use ticket', async () => {
      const server = await startServe({ probe: false, filter: () => false, token });
      const open = await httpGet(server.port, '/open/3000', { headers: { authorization: `Bearer ${token}` } });
      expect(open.status).toBe(302);
      const location = String(open.headers.location);
      const m = new RegExp(`^//p3000\\.localhost:${server.port}(/__portwatch/auth\\?ticket=[\\w.-]+)$`).exec(location);
      expect(m, location).not.toBeNull();
      const authPath = m?.[1] as string;
      const host = `p3000.localhost:${server.port}`;
      // the ticket is for p3000 only
      expect((await httpGet(server.port, authPath, { headers: { host: `p3001.localhost:${server.port}` } })).status).toBe(401);
      const exchanged = await httpGet(server.port, authPath, { headers: { host } });
      expect(exchanged.status).toBe(303);
      expect(exchanged.headers.location).toBe('/');
      const cookie = String(exchanged.headers['set-cookie']?.[0]).split(';')[0] as string;
      // signed in on p3000.localhost now: the proxy answers (502: nothing listens on 3000 in this filter)
      expect((await httpGet(server.port, '/', { headers: { host, cookie } })).status).toBe(502);
      expect((await httpGet(server.port, '/', { headers: { host } })).status).toBe(401);
      // single use
      expect((await httpGet(server.port, authPath, { headers: { host } })).status).toBe(401);
    });

    it('refuses to listen on a non-loopback address without a token', () => {
      expect(() => createServeServer({ host: '0.0.0.0', port: 0 })).toThrow(
        expect.objectContaining({ code: 'EUSAGE', message: expect.stringMatching(/^refusing to listen on 0\.0\.0\.0 without a token/) }),
      );
      expect(() => createServeServer({ host: '::', port: 0 })).toThrow(/without a token/);
      expect(() => createServeServer({ host: '192.168.1.10', port: 0, token: null })).toThrow(/without a token/);
      expect(() => checkExposure('0.0.0.0', 'tok')).not.toThrow();
      expect(() => checkExposure('localhost', null)).not.toThrow();
      expect(() => createServeServer({ host: '127.0.0.1', token: '  ' })).toThrow(/must not be empty/);
    });
  });

  it('/open/<PORT> without a token goes to a host of its own (p<PORT>.localhost, p<PORT>.<allowed name>), or /proxy/<PORT>/ on IPs', async () => {
    const server = await startServe({ probe: false, filter: () => false, allowHosts: ['devbox'] });
    const local = await httpGet(server.port, '/open/5173', { headers: { host: `127.0.0.1:${server.port}` } });
    expect(local.headers.location).toBe(`//p5173.localhost:${server.port}/`);
    const named = await httpGet(server.port, '/open/5173', { headers: { host: 'devbox:4040' } });
    expect(named.headers.location).toBe('//p5173.devbox:4040/');
    const ip = await httpGet(server.port, '/open/5173', { headers: { host: '10.1.2.3:4040' } });
    expect(ip.headers.location).toBe('/proxy/5173/');
  });
});
