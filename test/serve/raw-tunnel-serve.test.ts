/**
 * The raw tunnel in a whole serve (createServeServer, real sockets on loopback): a plain GET
 * of the tunnel path answers 426 (what a proxy passing only WebSocket upgrades makes of the
 * raw one, and what sends the forward to the WebSocket), raw tunnels are capped by serve's
 * connection limit, closing serve resets them even when JavaScript relays them, and a reset
 * from the target while serve's 101 still waits to be written does not end serve.
 */
import net from 'node:net';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createTunnelConnector } from '../../src/forward/tunnel-connector.js';
import { joinRaw } from '../../src/serve/raw-tunnel.js';
import { waitFor } from '../helpers/processes.js';
import { closeAll, httpGet } from './helpers.js';
import { serveFor } from './proxy-helpers.js';
import { cleanup, closed, target } from './tunnel-fixture.js';

afterEach(closeAll);

/** A raw tunnel to `port` through serve; its end (a reset when serve closes) is the test's to watch. */
async function connect(servePort: number, port: number): Promise<net.Socket> {
  const connector = createTunnelConnector({ base: new URL(`http://127.0.0.1:${servePort}`), token: null, protocol: 'raw' });
  const d = (await connector.connect({ address: '127.0.0.1', port, family: 4 })) as net.Socket;
  d.on('error', () => undefined);
  return d;
}

describe('the raw tunnel in serve', () => {
  it('a plain GET of the tunnel path is 426, naming both upgrades', async () => {
    const port = await target(() => undefined);
    const serve = await serveFor([port]);
    const reply = await httpGet(serve.port, `/api/tunnel/${port}`);
    expect(reply.status).toBe(426);
    expect(reply.headers.upgrade).toBe('portwatch-tcp, websocket');
  });

  it('refuses raw tunnels past a third of its connection limit (each holds 6 fds), with 503', async () => {
    const port = await target((s) => {
      s.resume();
      s.on('end', () => s.end());
    });
    const serve = await serveFor([port], { maxConnections: 6 }); // two raw tunnels
    const a = await connect(serve.port, port);
    const b = await connect(serve.port, port);
    cleanup(() => [a, b].forEach((d) => d.destroy()));
    await expect(connect(serve.port, port)).rejects.toThrow(/503 .*too many tunnels at once \(2\)/);
    a.destroy();
    await waitFor(
      () =>
        connect(serve.port, port).then(
          (d) => (d.destroy(), true),
          () => false,
        ),
      'a tunnel to be let in again once one ended',
    );
  });

  it('closing serve resets the raw tunnels it relays in JavaScript, too', async () => {
    const before = process.env.PORTWATCH_FORWARD_RELAY;
    process.env.PORTWATCH_FORWARD_RELAY = 'js';
    cleanup(() => {
      if (before === undefined) delete process.env.PORTWATCH_FORWARD_RELAY;
      else process.env.PORTWATCH_FORWARD_RELAY = before;
    });
    let toTarget: net.Socket | null = null;
    const port = await target((s) => (toTarget = s));
    const serve = await serveFor([port]);
    const d = await connect(serve.port, port);
    cleanup(() => d.destroy());
    await waitFor(() => toTarget, 'the connection in the target');
    const done = closed(d);
    d.resume();
    await serve.close();
    // A clean end would pass for the whole answer.
    expect(((await done) as NodeJS.ErrnoException | null)?.code).toBe('ECONNRESET');
  });

  it('a reset from the target while the 101 waits to be written ends both sides, not serve', async () => {
    let toTarget: net.Socket | null = null;
    const port = await target((s) => (toTarget = s));
    const upstream = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    await new Promise((resolve) => upstream.once('connect', resolve));
    await waitFor(() => toTarget, 'the connection in the target');
    // A client that reads nothing: serve's 101 is never flushed.
    const client = new PassThrough({ highWaterMark: 1 });
    client.write = ((_chunk: unknown, cb?: (e?: Error | null) => void) => {
      void cb; // held: never written
      return false;
    }) as typeof client.write;
    let joined = false;
    joinRaw(client, Buffer.alloc(0), upstream, () => (joined = true));
    toTarget!.resetAndDestroy(); // an 'error' on upstream before any relay listens
    await waitFor(() => upstream.destroyed && client.destroyed, 'both sides to be destroyed');
    expect(joined).toBe(false);
  });
});
