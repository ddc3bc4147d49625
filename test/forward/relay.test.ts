/**
 * The byte pipe on real loopback sockets: a reader that stops reading stops the writer
 * (memory in the relay stays bounded), half-close crosses, and a reset on one side tears
 * the other down.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { relay, type Relay } from '../../src/forward/relay.js';
import { waitFor } from '../helpers/processes.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** A connected pair of sockets on loopback: [the side we hold, the side the server accepted]. */
async function pair(): Promise<[net.Socket, net.Socket]> {
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const client = net.connect({ port: (server.address() as net.AddressInfo).port, host: '127.0.0.1', allowHalfOpen: true });
  const other = await accepted;
  server.close();
  cleanups.push(() => {
    client.destroy();
    other.destroy();
  });
  return [client, other];
}

/** user ⇄ [hostSide | relay | targetSide] ⇄ app */
async function chain(): Promise<{ user: net.Socket; app: net.Socket; r: Relay; hostSide: net.Socket; targetSide: net.Socket }> {
  const [user, hostSide] = await pair();
  const [targetSide, app] = await pair();
  const r = relay(hostSide, targetSide);
  hostSide.resume();
  return { user, app, r, hostSide, targetSide };
}

describe('relay', () => {
  it('a reader that stops reading stops the writer: what waits in the relay stays bounded', async () => {
    const { user, app, hostSide, targetSide } = await chain();
    app.pause(); // the app never reads
    const chunk = randomBytes(64 * 1024);
    let written = 0;
    // Write until the user's socket says stop and stays stopped (kernel buffers full end to end).
    for (let i = 0; i < 4096 && user.write(chunk); i++) written += chunk.length;
    await new Promise((r) => setTimeout(r, 300));
    for (let i = 0; i < 64; i++) {
      if (user.writableLength > 0) break;
      user.write(chunk);
      written += chunk.length;
      await new Promise((r) => setTimeout(r, 20));
    }
    const inRelay = hostSide.readableLength + targetSide.writableLength;
    expect(inRelay).toBeLessThan(2 * 1024 * 1024);
    expect(written).toBeLessThan(256 * 1024 * 1024);
  });

  it('carries a half-close: the app sees the end and can still answer', async () => {
    const { user, app } = await chain();
    app.resume();
    const got: Buffer[] = [];
    app.on('data', (c: Buffer) => got.push(c));
    const ended = new Promise<void>((r) => app.once('end', r));
    user.end(Buffer.from('request'));
    await ended;
    expect(Buffer.concat(got).toString()).toBe('request');
    const answer: Buffer[] = [];
    user.on('data', (c: Buffer) => answer.push(c));
    const userEnded = new Promise<void>((r) => user.once('end', r));
    app.end('answer after the client finished');
    await userEnded;
    expect(Buffer.concat(answer).toString()).toBe('answer after the client finished');
  });

  it('a reset on one side tears down the other', async () => {
    const { user, app, r } = await chain();
    app.resume();
    const closed = new Promise<void>((res) => user.once('close', () => res()));
    user.on('error', () => undefined);
    app.resetAndDestroy();
    await closed;
    await r.done;
    await waitFor(() => user.destroyed, 'the user side closed');
  });
});
