/**
 * The tunnel's protocol (ws-duplex.ts) as a plain WebSocket peer sees it, the ws library used
 * directly at the other end: serve takes fragments and `end` and closes cleanly (1000) once
 * both directions have ended; the forward's client answers pings, joins fragments and raises
 * a 1011 close with its reason.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import type { Listener } from '../../src/listener.js';
import { createTunnelConnector } from '../../src/forward/tunnel-connector.js';
import { TunnelEndpoint, tunnelPort } from '../../src/serve/tunnel.js';
import { waitFor } from '../helpers/processes.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => server.close());
  return (server.address() as net.AddressInfo).port;
}

/** An echo target (answers its peer's FIN with its own), and serve's tunnel in front of it. */
async function echoBehindServe(): Promise<{ serve: number; echo: number }> {
  const echo = await listen(
    net.createServer({ allowHalfOpen: true }, (s) => {
      s.on('error', () => undefined);
      s.pipe(s);
    }),
  );
  const endpoint = new TunnelEndpoint();
  const server = http.createServer();
  const sockets = new Set<Duplex>();
  server.on('upgrade', (req, socket: Duplex, head: Buffer) => {
    sockets.add(socket);
    endpoint.handle(req, socket, head, tunnelPort(req.url ?? '') ?? 0, {
      resolve: (port) => ({ ok: true, target: { host: '127.0.0.1', port, family: 4, tls: false }, listener: {} as Listener }),
      track: () => undefined,
      log: () => undefined,
    });
  });
  const serve = await listen(server);
  cleanups.push(() => {
    endpoint.close();
    sockets.forEach((s) => s.destroy());
  });
  return { serve, echo };
}

describe('the tunnel’s WebSocket', () => {
  it('serve understands the ws library as a client: random masks, fragments, `end`, close', async () => {
    const { serve, echo } = await echoBehindServe();
    const ws = new WebSocket(`ws://127.0.0.1:${serve}/api/tunnel/${echo}`, { perMessageDeflate: false });
    cleanups.push(() => ws.terminate());
    const back: Buffer[] = [];
    const texts: string[] = [];
    ws.on('message', (d, binary) => (binary ? back.push(d as Buffer) : texts.push(d.toString())));
    const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
    await new Promise((r) => ws.once('open', r));
    const a = randomBytes(70_000);
    const b = randomBytes(300);
    ws.send(a.subarray(0, 1000), { binary: true, fin: false }); // one message in three fragments
    ws.send(a.subarray(1000, 2000), { binary: true, fin: false });
    ws.send(a.subarray(2000), { binary: true, fin: true });
    ws.send(b, { binary: true });
    ws.send('end');
    await waitFor(() => texts.includes('end'), 'serve’s `end` after the echo ends');
    expect(Buffer.concat(back).equals(Buffer.concat([a, b]))).toBe(true);
    expect(await closed).toBe(1000); // both directions ended: serve closes cleanly
  });

  it('the forward’s client works with the ws library as serve: pings, fragments, a 1011 close with its reason', async () => {
    const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
    const server = http.createServer();
    const pongs: Buffer[] = [];
    server.on('upgrade', (req, socket, head) =>
      wss.handleUpgrade(req, socket, head, (ws) => {
        ws.on('pong', (p) => pongs.push(p));
        ws.on('message', (d, binary) => {
          if (!binary) return;
          ws.ping(Buffer.from('are you there'));
          ws.send((d as Buffer).subarray(0, 10), { fin: false }); // echoed in two fragments
          ws.send((d as Buffer).subarray(10), { fin: true });
        });
        ws.on('close', () => undefined);
        setTimeout(() => ws.close(1011, 'the target went away'), 300);
      }),
    );
    const port = await listen(server);
    cleanups.push(() => wss.clients.forEach((c) => c.terminate()));
    const d = await createTunnelConnector({ base: new URL(`http://127.0.0.1:${port}`), token: null }).connect({
      address: '127.0.0.1',
      port: 1234,
      family: 4,
    });
    const got: Buffer[] = [];
    d.on('data', (c: Buffer) => got.push(c));
    const error = new Promise<Error | undefined>((r) => d.once('error', r));
    const payload = randomBytes(5000);
    d.write(payload);
    expect((await error)?.message).toBe('the target went away');
    expect(Buffer.concat(got).equals(payload)).toBe(true);
    expect(pongs.map(String)).toEqual(['are you there']);
  });
});
