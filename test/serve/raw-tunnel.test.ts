/**
 * The raw tunnel (`Upgrade: portwatch-tcp`): serve's end (serve/raw-tunnel.ts through
 * TunnelEndpoint) reached by the forward's connector (forward/raw-tunnel-connector.ts), on
 * loopback. Bytes exact both ways, half-close, resets passed on both ways, a slow reader
 * stalling the writer through the kernel's windows, serve splicing (its JavaScript never sees
 * a byte), bytes sent with the request handed on, the same refusals as the WebSocket's, and
 * the fall back to the WebSocket for a serve that does not speak it.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createTunnelConnector } from '../../src/forward/tunnel-connector.js';
import { runningSpliceRelays, spliceRelayUnavailable } from '../../src/forward/splice-relay.js';
import { rejectUpgrade } from '../../src/serve/responses.js';
import { waitFor } from '../helpers/processes.js';
import {
  cleanup,
  closed,
  closedPort,
  collect,
  halfCloseKeepsTheOtherWay,
  listen,
  serveTunnel,
  STALL_CAP,
  target,
  targetSees,
  upgradeStatus,
  whenTargetResets,
  writeUntilStalled,
  type Fixture,
} from './tunnel-fixture.js';

const spliceWhy = spliceRelayUnavailable();

async function open(f: Fixture, port: number): Promise<net.Socket> {
  const connector = createTunnelConnector({ base: f.base, token: null, protocol: 'raw' });
  const d = await connector.connect({ address: '127.0.0.1', port, family: 4 });
  expect(connector.protocol()).toBe('raw');
  expect(d).toBeInstanceOf(net.Socket); // the socket itself: the forward can splice it too
  cleanup(() => d.destroy());
  return d as net.Socket;
}

describe('the serve tunnel, raw', () => {
  it('carries bytes exactly both ways, with a half-close each way; serve splices them', async () => {
    const f = await serveTunnel();
    const port = await target((s) => {
      void collect(s).then((all) => s.end(Buffer.from(all).reverse()));
    });
    const before = runningSpliceRelays();
    const d = await open(f, port);
    if (spliceWhy === null) await waitFor(() => runningSpliceRelays() === before + 1, 'serve to splice the tunnel');
    const payload = randomBytes(3 * 1024 * 1024 + 17);
    const back = collect(d);
    const done = closed(d);
    d.end(payload);
    expect((await back).equals(Buffer.from(payload).reverse())).toBe(true);
    expect(await done).toBeNull();
    await waitFor(() => runningSpliceRelays() === before, 'serve’s relay to end');
    // Spliced, the bytes never went through serve's JavaScript: no open tunnel was counted for its heap.
    if (spliceWhy === null) expect(f.counts).toEqual([]);
  });

  it('keeps the other direction open after one side ends', () => halfCloseKeepsTheOtherWay(open));

  it('passes a reset on, both ways', async () => {
    const f = await serveTunnel();
    expect(((await whenTargetResets(f, open)) as NodeJS.ErrnoException | null)?.code).toBe('ECONNRESET');

    expect(await targetSees(f, open, (d2) => (d2 as net.Socket).resetAndDestroy())).toBe('ECONNRESET');
  });

  it('a target that does not read stalls the forward side: nothing piles up in serve', async () => {
    const f = await serveTunnel();
    const port = await target((s) => s.pause());
    const d = await open(f, port);
    const accepted = await writeUntilStalled(d);
    expect(accepted).toBeLessThan(STALL_CAP / 4);
    // Handed to the splice relay (0 here), or piped: stream.pipe holds one read at most.
    expect(f.upstreams[0]!.writableLength).toBeLessThanOrEqual(64 * 1024);
  });

  it('hands on bytes the client sent with its request, before the target’s answer', async () => {
    const f = await serveTunnel();
    const port = await target((s) => s.once('data', (c: Buffer) => s.end(`got ${c.toString()}`)));
    const socket = net.connect(Number(f.base.port), '127.0.0.1');
    cleanup(() => socket.destroy());
    socket.write(`GET /api/tunnel/${port} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: portwatch-tcp\r\n\r\nhello`);
    const all = (await collect(socket)).toString();
    expect(all).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n[\s\S]*Upgrade: portwatch-tcp\r\n\r\ngot hello$/);
  });

  it('refuses as the WebSocket does: a port that does not listen (with the reason), a page, a POST', async () => {
    const f = await serveTunnel();
    const free = await closedPort();
    const connector = createTunnelConnector({ base: f.base, token: null, protocol: 'raw' });
    await expect(connector.connect({ address: '127.0.0.1', port: free, family: 4 })).rejects.toThrow(
      /serve refused the tunnel: 502 .*cannot connect to port/,
    );
    expect(connector.protocol()).toBe('raw'); // a refusal of the port, not of the protocol
    const port = await target(() => undefined);
    const status = (method: string, headers: Record<string, string>): Promise<number> =>
      upgradeStatus(f.base, port, { Upgrade: 'portwatch-tcp', ...headers }, method);
    expect(await status('GET', {})).toBe(101);
    expect(await status('GET', { Origin: 'http://page.example' })).toBe(403);
    expect(await status('POST', {})).toBe(405);
  });

  it('close() cuts the raw tunnels it carries, with a reset', async () => {
    const f = await serveTunnel();
    let toTarget: net.Socket | null = null;
    const port = await target((s) => (toTarget = s));
    const d = await open(f, port);
    await waitFor(() => toTarget, 'the connection in the target');
    const done = closed(d);
    const targetClosed = closed(toTarget!);
    d.resume();
    toTarget!.resume();
    f.endpoint.close();
    // Reset, both sides: a clean end would pass for the whole answer.
    expect(((await done) as NodeJS.ErrnoException | null)?.code).toBe('ECONNRESET');
    expect(((await targetClosed) as NodeJS.ErrnoException | null)?.code).toBe('ECONNRESET');
  });

  it('falls back to the WebSocket, for good, when serve does not speak the raw tunnel', async () => {
    // An older serve: its tunnel answers anything but a WebSocket upgrade with 400.
    const f = await serveTunnel();
    const old = http.createServer((_req, res) => res.end());
    const sockets = new Set<Duplex>();
    old.on('upgrade', (req, socket: Duplex, head: Buffer) => {
      sockets.add(socket);
      if (req.headers.upgrade?.toLowerCase() !== 'websocket') return rejectUpgrade(socket, 400, 'not a WebSocket upgrade');
      const ws = net.connect(Number(f.base.port), '127.0.0.1', () => {
        ws.write(
          `${req.method} ${req.url} HTTP/1.1\r\n${Object.entries(req.headers)
            .map(([k, v]) => `${k}: ${String(v)}`)
            .join('\r\n')}\r\n\r\n`,
        );
        ws.write(head);
        socket.pipe(ws).pipe(socket);
      });
      sockets.add(ws);
    });
    const oldPort = await listen(old);
    cleanup(() => sockets.forEach((s) => s.destroy()));
    const port = await target((s) => s.pipe(s));
    const connector = createTunnelConnector({ base: new URL(`http://127.0.0.1:${oldPort}`), token: null, protocol: 'raw' });
    const d = await connector.connect({ address: '127.0.0.1', port, family: 4 });
    cleanup(() => d.destroy());
    expect(connector.protocol()).toBe('ws');
    const back = collect(d);
    d.end('through the WebSocket');
    expect((await back).toString()).toBe('through the WebSocket');
  });
});
