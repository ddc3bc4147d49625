/**
 * serve's tunnel end (TunnelEndpoint) in an HTTP server on loopback, reached by the forward's
 * connector as a WebSocket (the raw tunnel: raw-tunnel.test.ts): bytes exact both ways,
 * half-close, resets passed on, each slow reader slowing the other side down instead of serve
 * buffering without bound, and handshakes refused.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createTunnelConnector } from '../../src/forward/tunnel-connector.js';
import { HIGH_WATER, type WebSocketDuplex } from '../../src/forward/ws-duplex.js';
import { waitFor } from '../helpers/processes.js';
import {
  cleanup,
  closed,
  closedPort,
  collect,
  halfCloseKeepsTheOtherWay,
  serveTunnel,
  STALL_CAP,
  target,
  targetSees,
  upgradeStatus,
  whenTargetResets,
  writeUntilStalled,
  type Fixture,
} from './tunnel-fixture.js';

async function open(f: Fixture, port: number): Promise<WebSocketDuplex> {
  const d = (await createTunnelConnector({ base: f.base, token: null, protocol: 'ws' }).connect({
    address: '127.0.0.1',
    port,
    family: 4,
  })) as WebSocketDuplex;
  cleanup(() => d.destroy());
  return d;
}

describe('the serve tunnel, as a WebSocket', () => {
  it('carries bytes exactly both ways, with a half-close each way', async () => {
    const f = await serveTunnel();
    // The target reads all, then answers with what it read reversed, then ends.
    const port = await target((s) => {
      void collect(s).then((all) => s.end(Buffer.from(all).reverse()));
    });
    const d = await open(f, port);
    const payload = randomBytes(3 * 1024 * 1024 + 17);
    const back = collect(d);
    const done = closed(d);
    d.end(payload);
    expect((await back).equals(Buffer.from(payload).reverse())).toBe(true);
    expect(await done).toBeNull();
    await waitFor(() => f.upstreams[0]?.destroyed, 'serve to close its connection to the target');
  });

  it('says as each tunnel joins and ends (serve keeps a roomy heap while any is open)', async () => {
    const f = await serveTunnel();
    const port = await target((s) => s.pipe(s));
    const a = await open(f, port);
    const b = await open(f, port);
    await waitFor(() => f.counts.length === 2, 'both tunnels counted');
    expect(f.counts).toEqual([1, 1]);
    expect(f.endpoint.size).toBe(2);
    const aClosed = closed(a);
    a.resume(); // read to its end, so that it closes
    a.end();
    await aClosed;
    await waitFor(() => f.counts.length === 3, 'the first tunnel to end');
    b.destroy(); // cut, not ended: counted down all the same
    await waitFor(() => f.counts.length === 4, 'the second tunnel to end');
    expect(f.counts).toEqual([1, 1, -1, -1]);
    expect(f.endpoint.size).toBe(0);
  });

  it('keeps the other direction open after one side ends', () => halfCloseKeepsTheOtherWay(open));

  it('passes a reset on: the target resets, the tunnel fails with the reason', async () => {
    const f = await serveTunnel();
    expect((await whenTargetResets(f, open))?.message).toMatch(/ECONNRESET|closed/);
  });

  it('passes a reset on: the forward side fails, the target sees a reset', async () => {
    const f = await serveTunnel();
    expect(await targetSees(f, open, (d) => d.destroy(new Error('read ECONNRESET')))).toBe('ECONNRESET');
  });

  it('a target that does not read slows the forward side down instead of filling serve', async () => {
    const f = await serveTunnel();
    const port = await target((s) => s.pause()); // reads nothing
    const d = await open(f, port);
    const accepted = await writeUntilStalled(d);
    // Without backpressure serve would take it all; with it, what is held is kernel buffers
    // and a few HIGH_WATERs.
    expect(accepted).toBeLessThan(STALL_CAP / 4);
    expect(f.upstreams[0]!.writableLength).toBeLessThan(HIGH_WATER + 256 * 1024);
  });

  it('a forward side that does not read slows the target down instead of filling serve', async () => {
    const f = await serveTunnel();
    let written: Promise<number> | null = null;
    const port = await target((s) => (written = writeUntilStalled(s)));
    const d = await open(f, port);
    d.pause(); // the forward side's reader stops pulling
    d.write('go');
    await waitFor(() => written, 'the connection in the target');
    const n = await written!;
    expect(n).toBeLessThan(STALL_CAP / 4);
    // Everything the target wrote still arrives, exactly, once the reader pulls again.
    let received = 0;
    d.on('data', (c: Buffer) => (received += c.length));
    d.resume();
    await waitFor(() => received === n, `all ${n} bytes`, 20_000).catch((e: Error) => {
      throw new Error(
        `${e.message} (received ${received}, ${d.readableLength} buffered, flowing ${d.readableFlowing}, destroyed ${d.destroyed})`,
      );
    });
  });

  it('refuses what is not a WebSocket handshake, and a page', async () => {
    const f = await serveTunnel();
    const port = await target(() => undefined);
    const status = (headers: Record<string, string>): Promise<number> => upgradeStatus(f.base, port, { Upgrade: 'websocket', ...headers });
    const key = randomBytes(16).toString('base64');
    expect(await status({ 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': key })).toBe(101);
    expect(await status({ 'Sec-WebSocket-Version': '8', 'Sec-WebSocket-Key': key })).toBe(426);
    expect(await status({ 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'short' })).toBe(400);
    expect(await status({ 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': key, Origin: 'http://page.example' })).toBe(403);
    const free = await closedPort();
    await expect(
      createTunnelConnector({ base: f.base, token: null, protocol: 'ws' }).connect({ address: '127.0.0.1', port: free, family: 4 }),
    ).rejects.toThrow(/serve refused the tunnel: 502 .*cannot connect to port/);
  });

  it('close() ends the tunnels it carries', async () => {
    const f = await serveTunnel();
    const port = await target(() => undefined);
    const d = await open(f, port);
    const done = closed(d);
    f.endpoint.close();
    expect(await done).toBeInstanceOf(Error);
    await waitFor(() => f.upstreams[0]?.destroyed, 'the connection to the target closed');
  });
});
