/**
 * Timeouts toward targets, as nginx has them (connect, read, client body), and no queue a
 * request can wait in forever. serve uses the 60 s defaults; the small values here go
 * through the bare proxy (the same forwardRequest, options serve does not expose).
 */
import { Agent as HttpAgent, request } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/processes.js';
import { httpGet } from './helpers.js';
import { bareProxy, closeProxyFixtures, httpTarget, serveFor } from './proxy-helpers.js';

const clients = new Set<Socket>();
afterEach(async () => {
  for (const c of clients) c.destroy();
  clients.clear();
  await closeProxyFixtures();
});

/** A raw client that sends a request head and the start of a body, then nothing; `answer` collects what comes back. */
function slowPost(port: number, path: string, host: string): { socket: Socket; answer: () => string; closed: () => boolean } {
  const socket = connect(port, '127.0.0.1');
  clients.add(socket);
  let answer = '';
  let closed = false;
  socket.setEncoding('latin1');
  socket.on('data', (d: string) => (answer += d));
  socket.on('error', () => {});
  socket.on('close', () => (closed = true));
  socket.write(`POST ${path} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\nx`);
  return { socket, answer: () => answer, closed: () => closed };
}

describe('the proxy toward a target', () => {
  it('300 slow-body POSTs to one target do not make the next request to it wait', async () => {
    let slow = 0;
    const target = await httpTarget((req, res) => {
      if (req.url === '/slow')
        slow++; // read nothing, answer nothing: the client never finishes its body
      else res.end('ok');
    });
    const server = await serveFor([target.port]);
    for (let i = 0; i < 300; i++) slowPost(server.port, `/proxy/${target.port}/slow`, `localhost:${server.port}`);
    await waitFor(() => slow === 300, 'all 300 slow POSTs to reach the target', 20_000);
    const r = await httpGet(server.port, `/proxy/${target.port}/after`, { timeoutMs: 5_000 });
    expect(r.status).toBe(200);
    expect(r.body).toBe('ok');
  });

  it('a request that cannot get a connection gets a 504 after the connect timeout, not an endless wait', async () => {
    const target = await httpTarget((req, res) => {
      if (req.url === '/hold') return; // keeps the only socket busy
      res.end('ok');
    });
    const agents = {
      http: new HttpAgent({ keepAlive: true, maxSockets: 1 }),
      https: new HttpsAgent({ keepAlive: true, maxSockets: 1 }),
    };
    const proxy = await bareProxy(target.port, { agents, connectTimeoutMs: 300 });
    const hold = request({ host: '127.0.0.1', port: proxy.port, path: '/hold', agent: false });
    hold.on('error', () => {});
    hold.end();
    await waitFor(() => agents.http.sockets[Object.keys(agents.http.sockets)[0] ?? '']?.length === 1, 'the only socket to be taken');
    const started = Date.now();
    const r = await httpGet(proxy.port, '/queued', { timeoutMs: 10_000 });
    expect(r.status).toBe(504);
    expect(r.body).toContain(`TCP port ${target.port} did not accept a connection within 300 ms`);
    expect(Date.now() - started).toBeLessThan(8_000);
    hold.destroy();
  });

  it('a target that sends nothing gets a 504 after the read timeout; one that stops mid-body gets the response cut', async () => {
    const target = await httpTarget((req, res) => {
      if (req.url === '/silent') return;
      res.writeHead(200, { 'Content-Length': '100' });
      res.write('partial'); // and never the rest
    });
    const proxy = await bareProxy(target.port, { readTimeoutMs: 300 });
    const silent = await httpGet(proxy.port, '/silent');
    expect(silent.status).toBe(504);
    expect(silent.body).toContain(`TCP port ${target.port} sent nothing for 300 ms`);
    const cut = await new Promise<string>((resolve) => {
      const req = request({ host: '127.0.0.1', port: proxy.port, path: '/stall', agent: false }, (res) => {
        let got = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (got += d));
        res.on('error', () => resolve(`cut after ${JSON.stringify(got)}`));
        res.on('close', () => resolve(res.complete ? 'complete' : `cut after ${JSON.stringify(got)}`));
      });
      req.on('error', () => resolve('error'));
      req.setTimeout(10_000, () => req.destroy());
      req.end();
    });
    expect(cut).toBe('cut after "partial"');
    expect(proxy.statuses).toEqual([504]);
  });

  it('a client that stops sending its body gets a 408 after the client timeout, and the target sees the request end', async () => {
    let targetSawClose = false;
    const target = await httpTarget((req) => {
      req.resume();
      req.once('close', () => (targetSawClose = true));
    });
    const proxy = await bareProxy(target.port, { clientTimeoutMs: 300 });
    const client = slowPost(proxy.port, '/upload', `localhost:${proxy.port}`);
    await waitFor(() => client.answer().includes('\r\n\r\n'), 'an answer', 10_000);
    expect(client.answer()).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(client.answer()).toContain('the request body stopped arriving');
    await waitFor(() => targetSawClose, 'the request to the target to end');
    await waitFor(() => client.closed(), 'the client connection to be closed');
  });

  it('the read timeout belongs to one request: kept-alive connections stay usable after longer pauses', async () => {
    const target = await httpTarget((_req, res) => res.end('ok'));
    const proxy = await bareProxy(target.port, { readTimeoutMs: 200, clientTimeoutMs: 200 });
    const agent = new HttpAgent({ keepAlive: true, maxSockets: 1 });
    const get = (): Promise<string> =>
      new Promise((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: proxy.port, path: '/', agent }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (body += d));
          res.on('end', () => resolve(`${res.statusCode} ${body} ${req.reusedSocket ? 'reused' : 'new'}`));
        });
        req.on('error', reject);
        req.end();
      });
    try {
      expect(await get()).toBe('200 ok new');
      await new Promise((r) => setTimeout(r, 600)); // three read timeouts' worth of quiet
      expect(await get()).toBe('200 ok reused'); // the same client connection: nothing cut it meanwhile
      expect(proxy.statuses).toEqual([200, 200]);
    } finally {
      agent.destroy();
    }
  });
});
