/**
 * A proxy loop: a forwarder on port X that leads back into serve, and serve proxying to X.
 * Before, every hop was a new request through serve (a chain of hundreds holding fds); now
 * serve knows its own Via name on the second pass and refuses with 508.
 */
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { httpGet } from './helpers.js';
import { closeProxyFixtures, rawTarget, serveFor } from './proxy-helpers.js';

afterEach(closeProxyFixtures);

/** Forwards each connection to `to` — for the first `limit` connections only, so a loop stays bounded in the test. */
async function forwarder(to: () => number, limit = 20): Promise<{ port: number; accepted: () => number }> {
  return rawTarget((socket) => {
    const n = count++;
    if (n >= limit) return void socket.destroy();
    const out = connect(to(), '127.0.0.1');
    out.on('error', () => socket.destroy());
    socket.on('close', () => out.destroy());
    out.on('close', () => socket.destroy());
    socket.pipe(out);
    out.pipe(socket);
  });
}
let count = 0;

describe('proxy loops', () => {
  it('refuses a request that comes back to it: one hop, a 508, no chain', async () => {
    count = 0;
    let servePort = 0;
    const fwd = await forwarder(() => servePort);
    const server = await serveFor([fwd.port]);
    servePort = server.port;
    const r = await httpGet(server.port, '/x', { headers: { host: `p${fwd.port}.localhost:${server.port}` } });
    expect(r.status).toBe(508);
    expect(r.body).toContain('proxy loop');
    expect(fwd.accepted()).toBe(1);
    // The path form loops when the path leads back to the proxy too; it ends the same way.
    expect((await httpGet(server.port, `/proxy/${fwd.port}/proxy/${fwd.port}/y`)).status).toBe(508);
    expect(fwd.accepted()).toBeLessThanOrEqual(2); // one more connection, or the first one kept alive
    expect((await httpGet(server.port, '/healthz')).status).toBe(200);
  });

  it('refuses a WebSocket upgrade that comes back to it', async () => {
    count = 0;
    let servePort = 0;
    const fwd = await forwarder(() => servePort);
    const server = await serveFor([fwd.port]);
    servePort = server.port;
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/proxy/${fwd.port}/proxy/${fwd.port}/hmr`);
    ws.on('error', () => {});
    const status = await new Promise<number>((resolve) => {
      ws.once('unexpected-response', (req, res) => {
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      ws.once('open', () => resolve(101));
    });
    expect(status).toBe(508);
    expect(fwd.accepted()).toBe(1);
  });
});
