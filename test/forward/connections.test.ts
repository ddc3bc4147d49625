/**
 * The connections a forwarder carries (src/forward/connections.ts): how many are copied in
 * JavaScript, told as each starts and ends (the CLI keeps a roomy heap meanwhile), while a
 * TCP pair spliced by the addon is not counted. Real sockets on loopback.
 */
import net from 'node:net';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionSet } from '../../src/forward/connections.js';
import type { Connector } from '../../src/forward/connector.js';
import { spliceRelayUnavailable } from '../../src/forward/splice-relay.js';
import { waitFor } from '../helpers/processes.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

/** A host-side listener whose accepted sockets go to `set` (paused, as the forwarder's are). */
async function hostSide(set: ConnectionSet): Promise<number> {
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (client) => {
    set.open(1, client, [{ address: '127.0.0.1', port: 1, family: 4 }]);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => server.close());
  return (server.address() as net.AddressInfo).port;
}

/** Connects, sends `text`, and resolves with what came back once the far side ended. */
function roundTrip(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    let got = '';
    c.on('data', (d: Buffer) => (got += d.toString()));
    c.on('end', () => {
      c.end();
      resolve(got);
    });
    c.on('error', reject);
    c.end(text);
  });
}

describe('ConnectionSet', () => {
  it('says as each connection copied in JavaScript starts (+1) and ends (-1)', async () => {
    // Not a socket: no splicing possible, the JavaScript relay carries it (as through a tunnel).
    const echo: Connector = { kind: 'tunnel', connect: () => Promise.resolve(new PassThrough()) };
    const counts: number[] = [];
    const set = new ConnectionSet(echo, 0, (n) => counts.push(n));
    cleanups.push(() => set.destroyAll());
    const port = await hostSide(set);
    expect(await roundTrip(port, 'hello')).toBe('hello');
    await waitFor(() => counts.length === 2, 'the connection to be counted and to end');
    expect(counts).toEqual([1, -1]);
    expect(set.copied).toBe(0);
  });

  it.skipIf(spliceRelayUnavailable() !== null)('does not count a TCP pair the addon splices', async () => {
    const target = net.createServer({ allowHalfOpen: true }, (s) => s.pipe(s));
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    cleanups.push(() => target.close());
    const targetPort = (target.address() as net.AddressInfo).port;
    const tcp: Connector = {
      kind: 'netns',
      connect: () =>
        new Promise((resolve, reject) => {
          const s = net.connect({ host: '127.0.0.1', port: targetPort, allowHalfOpen: true }, () => resolve(s));
          s.once('error', reject);
        }),
    };
    const counts: number[] = [];
    const set = new ConnectionSet(tcp, 0, (n) => counts.push(n));
    cleanups.push(() => set.destroyAll());
    const port = await hostSide(set);
    expect(await roundTrip(port, 'spliced')).toBe('spliced');
    await waitFor(() => set.size === 0, 'the spliced connection to end');
    expect(counts).toEqual([]);
  });

  it('a callback that throws leaves the bookkeeping right', async () => {
    const echo: Connector = { kind: 'tunnel', connect: () => Promise.resolve(new PassThrough()) };
    const set = new ConnectionSet(echo, 0, () => {
      throw new Error('the caller failed');
    });
    cleanups.push(() => set.destroyAll());
    const port = await hostSide(set);
    expect(await roundTrip(port, 'still')).toBe('still');
    await waitFor(() => set.size === 0, 'the connection to end');
    expect(set.copied).toBe(0);
  });
});
