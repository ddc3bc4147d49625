#!/usr/bin/env node
/**
 * portwatch serve benchmark (never part of `npm test`; needs `npm run build` first):
 *
 *   node bench/serve.mjs [--clients 200] [--rounds 30] [--requests 20000] [--concurrency 32]
 *
 * 1. Event fan-out latency: `--clients` SSE clients (in 4 worker threads, each with its own
 *    event loop) connected to an in-process server; listeners open and close for `--rounds`
 *    rounds; for every event and every client, the time from the watcher emitting the event
 *    to the client having parsed it. p50, p95, max.
 * 2. Proxy overhead: a small HTTP response ("hello world\n") from a server in its own worker
 *    thread, fetched by a keep-alive client (another worker, `--concurrency` requests in
 *    flight, `--requests` per run) directly and through /proxy/<PORT>/; requests/s of each,
 *    three alternating runs, median; and the ratio.
 * Prints a markdown table.
 */
import { request, createServer as createHttpServer, Agent } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { performance } from 'node:perf_hooks';
import { benchArgs } from './args.mjs';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

const now = () => performance.timeOrigin + performance.now(); // absolute, comparable across threads
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const quantile = (xs, q) => {
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

// ---- worker: SSE clients ----------------------------------------------------------------
async function sseClients({ port, count }) {
  const received = Array.from({ length: count }, () => []); // per client: [event key, time]
  let connected = 0;
  const requests = [];
  for (let i = 0; i < count; i++) {
    const mine = received[i];
    const req = request({ host: '127.0.0.1', port, path: '/api/events', headers: { accept: 'text/event-stream' }, agent: false }, (res) => {
      connected++;
      if (connected === count) parentPort.postMessage({ type: 'connected' });
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (text) => {
        buffer += text;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block.split('\n').find((l) => l.startsWith('data: '));
          if (!data || block.includes('\nevent: ') || block.startsWith('event: ')) continue;
          const e = JSON.parse(data.slice(6));
          mine.push([`${e.type}:${e.listener.port}:${e.listener.inode}`, now()]);
        }
      });
    });
    req.on('error', () => {});
    req.end();
    requests.push(req);
  }
  parentPort.on('message', (m) => {
    if (m === 'finish') {
      for (const r of requests) r.destroy();
      parentPort.postMessage({ type: 'received', received });
    }
  });
}

// ---- worker: the upstream HTTP server -----------------------------------------------------
function upstreamServer() {
  const body = Buffer.from('hello world\n');
  const server = createHttpServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length });
    res.end(body);
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => parentPort.postMessage({ type: 'listening', port: server.address().port }));
  parentPort.on('message', (m) => m === 'stop' && server.close(() => process.exit(0)) && server.closeAllConnections());
}

// ---- worker: a bounded keep-alive load generator -------------------------------------------
async function loadClient({ port, path, host, requests, concurrency, maxMs }) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const one = () =>
    new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, agent, headers: { host } }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end();
    });
  const run = async (n) => {
    let next = 0;
    let done = 0;
    const deadline = Date.now() + maxMs;
    const t0 = now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < n && Date.now() < deadline) {
          next++;
          await one();
          done++;
        }
      }),
    );
    return { done, ms: now() - t0 };
  };
  await run(Math.min(1000, requests)); // warm-up: connections, JIT
  const { done, ms } = await run(requests);
  agent.destroy();
  parentPort.postMessage({ type: 'result', rps: (done * 1000) / ms, done });
}

if (!isMainThread) {
  const { role } = workerData;
  if (role === 'sse') await sseClients(workerData);
  else if (role === 'upstream') upstreamServer();
  else if (role === 'load') await loadClient(workerData);
} else {
  await main();
}

function startWorker(data) {
  return new Worker(new URL(import.meta.url), { workerData: data });
}

function nextMessage(worker, type) {
  return new Promise((resolve, reject) => {
    const on = (m) => {
      if (m.type === type) {
        worker.off('message', on);
        resolve(m);
      }
    };
    worker.on('message', on);
    worker.once('error', reject);
  });
}

async function fanOut(createServeServer, { clients, rounds }) {
  const ports = new Set();
  const server = createServeServer({
    host: '127.0.0.1',
    port: 0,
    probe: false,
    processMetrics: false,
    filter: (l) => ports.has(l.port),
    watchOptions: { interval: 50 },
  });
  await server.listen();
  await server.ready();
  const emitted = new Map();
  const stamp = (e) => emitted.set(`${e.type}:${e.listener.port}:${e.listener.inode}`, now());
  // Before the server's own handlers, so the time includes formatting and writing to every client.
  server.watcher.prependListener('open', stamp);
  server.watcher.prependListener('close', stamp);

  const perWorker = Math.ceil(clients / 4);
  const workers = [];
  for (let left = clients; left > 0; left -= perWorker)
    workers.push(startWorker({ role: 'sse', port: server.port, count: Math.min(perWorker, left) }));
  await Promise.all(workers.map((w) => nextMessage(w, 'connected')));

  for (let r = 0; r < rounds; r++) {
    const servers = await Promise.all(
      Array.from(
        { length: 5 },
        () =>
          new Promise((resolve) => {
            const s = createNetServer((c) => c.destroy()).listen(0, '127.0.0.1', () => resolve(s));
          }),
      ),
    );
    for (const s of servers) ports.add(s.address().port);
    const want = emitted.size + servers.length;
    for (let t = 0; emitted.size < want && t < 200; t++) await sleep(10);
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    const wantClosed = emitted.size + servers.length;
    for (let t = 0; emitted.size < wantClosed && t < 200; t++) await sleep(10);
  }
  await sleep(300); // the last deliveries
  const results = await Promise.all(
    workers.map((w) => {
      const p = nextMessage(w, 'received');
      w.postMessage('finish');
      return p;
    }),
  );
  await Promise.all(workers.map((w) => w.terminate()));
  await server.close();
  const latencies = [];
  let missing = 0;
  for (const { received } of results) {
    for (const client of received) {
      const got = new Map(client);
      for (const [key, t] of emitted) {
        const r = got.get(key);
        if (r === undefined) missing++;
        else latencies.push(r - t);
      }
    }
  }
  return {
    events: emitted.size,
    deliveries: latencies.length,
    missing,
    p50: quantile(latencies, 0.5),
    p95: quantile(latencies, 0.95),
    max: latencies.reduce((a, b) => Math.max(a, b), 0),
  };
}

async function proxyOverhead(createServeServer, { requests, concurrency }) {
  const upstream = startWorker({ role: 'upstream' });
  const { port } = await nextMessage(upstream, 'listening');
  const server = createServeServer({
    host: '127.0.0.1',
    port: 0,
    probe: false,
    processMetrics: false,
    filter: (l) => l.port === port,
    watchOptions: { interval: 100 },
  });
  await server.listen();
  await server.ready();
  const measure = async (target) => {
    const w = startWorker({ role: 'load', requests, concurrency, maxMs: 20_000, ...target });
    const r = await nextMessage(w, 'result');
    await w.terminate();
    return r.rps;
  };
  const direct = [];
  const proxied = [];
  for (let i = 0; i < 3; i++) {
    direct.push(await measure({ port, path: '/', host: `127.0.0.1:${port}` }));
    proxied.push(await measure({ port: server.port, path: `/proxy/${port}/`, host: `localhost:${server.port}` }));
  }
  upstream.postMessage('stop');
  await server.close();
  await upstream.terminate();
  const median = (xs) => quantile(xs, 0.5);
  return { direct: median(direct), proxied: median(proxied) };
}

async function main() {
  const { values } = benchArgs(
    {
      options: {
        clients: { type: 'string', default: '200' },
        rounds: { type: 'string', default: '30' },
        requests: { type: 'string', default: '20000' },
        concurrency: { type: 'string', default: '32' },
      },
    },
    import.meta.url,
  );
  const { createServeServer } = await import('../dist/serve/index.js');
  const clients = Number(values.clients);
  const fan = await fanOut(createServeServer, { clients, rounds: Number(values.rounds) });
  const proxy = await proxyOverhead(createServeServer, { requests: Number(values.requests), concurrency: Number(values.concurrency) });
  const ms = (x) => `${x.toFixed(2)} ms`;
  console.log(`\nportwatch serve (Node ${process.version}, ${(await import('node:os')).cpus().length} CPUs)\n`);
  console.log('| measure | value |');
  console.log('| --- | --- |');
  console.log(
    `| SSE fan-out: events × clients delivered | ${fan.events} × ${clients} = ${fan.deliveries}${fan.missing ? ` (${fan.missing} missing)` : ''} |`,
  );
  console.log(`| SSE fan-out latency p50 (watcher emit → client parsed) | ${ms(fan.p50)} |`);
  console.log(`| SSE fan-out latency p95 | ${ms(fan.p95)} |`);
  console.log(`| SSE fan-out latency max | ${ms(fan.max)} |`);
  console.log(`| HTTP direct, keep-alive, ${values.concurrency} in flight | ${proxy.direct.toFixed(0)} req/s |`);
  console.log(`| HTTP through /proxy/<port>/ | ${proxy.proxied.toFixed(0)} req/s |`);
  console.log(`| proxy / direct | ${(proxy.proxied / proxy.direct).toFixed(2)} |`);
}
