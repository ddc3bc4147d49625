/**
 * Upgrades (WebSocket) through the proxy: bytes are tunnelled only after the target answered
 * 101; any other answer reaches the client and the connection closes; portwatch's token does
 * not go on in the URL; idle and half-closed tunnels are closed.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { waitFor } from '../helpers/processes.js';
import { bareProxy, closeProxyFixtures, rawTarget, readHead, serveFor, wsEchoTarget } from './proxy-helpers.js';

const clients = new Set<Socket | WebSocket>();
afterEach(async () => {
  for (const c of clients) {
    if (c instanceof WebSocket) c.terminate();
    else c.destroy();
  }
  clients.clear();
  await closeProxyFixtures();
});

function upgradeHead(path: string, host: string): string {
  return (
    `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
    'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n'
  );
}

/** A raw client: sends `bytes`, collects the answer as text, notes the close. */
function rawClient(port: number, bytes: string, options: { allowHalfOpen?: boolean } = {}) {
  const s = connect({ port, host: '127.0.0.1', allowHalfOpen: options.allowHalfOpen ?? false });
  clients.add(s);
  const state = { answer: '', closed: false, ended: false };
  s.setEncoding('latin1');
  s.on('data', (d: string) => (state.answer += d));
  s.on('end', () => (state.ended = true));
  s.on('error', () => {});
  s.on('close', () => (state.closed = true));
  s.write(bytes);
  return { socket: s, state };
}

function openWs(url: string, options: ConstructorParameters<typeof WebSocket>[2] = {}): Promise<WebSocket> {
  const ws = new WebSocket(url, options);
  clients.add(ws);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

describe('WebSocket upgrades through the proxy', () => {
  it('a target that answers 404 gets no byte of the client after its request; the client gets the 404, then a close', async () => {
    const received: Buffer[] = [];
    let targetClosed = false;
    const target = await rawTarget((socket) => {
      socket.on('data', (d: Buffer) => received.push(d));
      socket.once('close', () => (targetClosed = true));
      void readHead(socket).then(() =>
        socket.write('HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n\r\nno such socket'),
      );
    });
    const server = await serveFor([target.port]);
    const head = upgradeHead(`/proxy/${target.port}/hmr`, `localhost:${server.port}`);
    // Frame bytes right behind the request (they arrive as the upgrade's `head`), more after the answer.
    const client = rawClient(server.port, `${head}EARLY-FRAME-BYTES`);
    await waitFor(() => client.state.answer.includes('no such socket'), 'the 404 to reach the client');
    if (client.socket.writable) client.socket.write('LATE-FRAME-BYTES');
    await waitFor(() => client.state.closed, 'serve to close the client connection');
    await waitFor(() => targetClosed, 'serve to close the connection to the target');
    expect(client.state.answer).toMatch(/^HTTP\/1\.1 404 Not Found\r\n/);
    expect(client.state.answer).toMatch(/\r\nConnection: close\r\n/i);
    const seen = Buffer.concat(received).toString('latin1');
    expect(seen.endsWith('\r\n\r\n')).toBe(true);
    expect(seen).toMatch(/^GET \/hmr HTTP\/1\.1\r\n/);
    expect(seen).not.toContain('FRAME-BYTES');
    const metrics = await server.metrics.registry.getSingleMetricAsString('portwatch_proxy_requests_total');
    expect(metrics).toMatch(/status="404"\} 1/);
  });

  it("does not pass portwatch's token on in an upgrade URL", async () => {
    const target = await wsEchoTarget();
    const proxy = await bareProxy(target.port, { token: 'secret-token' });
    await openWs(`ws://127.0.0.1:${proxy.port}/hmr?a=1&token=secret-token&b=2`);
    await openWs(`ws://127.0.0.1:${proxy.port}/hmr?token=not-ours`);
    expect(target.urls).toEqual(['/hmr?a=1&b=2', '/hmr?token=not-ours']);
  });

  it('closes a tunnel with no traffic for the idle timeout, and not one in use', async () => {
    const target = await wsEchoTarget();
    const proxy = await bareProxy(target.port, { idleTimeoutMs: 1_000 });
    const quiet = await openWs(`ws://127.0.0.1:${proxy.port}/quiet`);
    const busy = await openWs(`ws://127.0.0.1:${proxy.port}/busy`);
    let quietClosed = 0;
    quiet.once('close', () => (quietClosed = Date.now()));
    let echoes = 0;
    busy.on('message', () => echoes++);
    const opened = Date.now();
    // The busy one talks every 100 ms for 2.5 s: well inside the idle timeout each time.
    for (let i = 0; i < 25; i++) {
      busy.send('ping');
      await new Promise((r) => setTimeout(r, 100));
    }
    await waitFor(() => quietClosed > 0, 'the quiet tunnel to be closed');
    expect(quietClosed - opened).toBeGreaterThanOrEqual(900);
    expect(busy.readyState).toBe(WebSocket.OPEN);
    expect(echoes).toBeGreaterThan(20);
    await waitFor(() => proxy.tracked.size === 2, 'the quiet tunnel’s sockets to be gone'); // busy: client and target sockets
  });

  it('does not leave a half-closed tunnel open: after one side closes, the other gets a short grace', async () => {
    let targetEnded = false;
    const target = await rawTarget(
      (socket) => {
        socket.once('end', () => (targetEnded = true)); // and it does not close back
        void readHead(socket).then(() =>
          socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n'),
        );
      },
      { allowHalfOpen: true },
    );
    const proxy = await bareProxy(target.port, { idleTimeoutMs: 500 });
    const client = rawClient(proxy.port, upgradeHead('/ws', `localhost:${proxy.port}`), { allowHalfOpen: true });
    await waitFor(() => client.state.answer.includes('\r\n\r\n'), 'the 101');
    expect(client.state.answer).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
    client.socket.end();
    await waitFor(() => targetEnded, 'the FIN to be passed on');
    // serve's two sockets are closed (the target's end of its connection is the target's business).
    await waitFor(() => client.state.closed && proxy.tracked.size === 0, 'both of the proxy’s sockets to be closed', 10_000);
  });
});
