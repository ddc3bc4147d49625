/**
 * The native splice relay on real loopback sockets: byte-exact both ways with half-close
 * in each direction, resets passed on as resets (from either side), cuts from JavaScript
 * (plain and as a reset), 200 connections at once, and a hand-over that leaves nothing
 * behind in libuv's epoll.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { runningSpliceRelays, spliceRelay, spliceRelayUnavailable, type SpliceRelay } from '../../src/forward/splice-relay.js';
import { waitFor } from '../helpers/processes.js';
import { closePairs, howItEnds, pair, readToEnd, serve } from './splice-pairs.js';

const why = spliceRelayUnavailable();
if (why !== null && process.env.PORTWATCH_REQUIRE_NATIVE === '1') throw new Error(`splice relay tests cannot run: ${why}`);

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) process.kill(c.pid!, 'SIGKILL');
  closePairs();
});

/** user ⇄ [hostSide | splice relay | targetSide] ⇄ app; app is paused until read. */
async function chain(): Promise<{ user: net.Socket; app: net.Socket; r: SpliceRelay }> {
  const [user, hostSide] = await pair();
  const [targetSide, app] = await pair();
  const r = spliceRelay(hostSide, targetSide);
  if (r === null) throw new Error('the pair was not handed to the splice relay');
  expect(hostSide.destroyed && targetSide.destroyed).toBe(true);
  return { user, app, r };
}

describe.skipIf(why !== null)('splice relay', () => {
  it('is byte-exact both ways when the client half-closes first, and the server answers after', async () => {
    const { user, app, r } = await chain();
    const request = randomBytes(1024 * 1024);
    const answer = randomBytes(1024 * 1024 + 17);
    const appGot = readToEnd(app);
    user.end(request);
    expect((await appGot).equals(request)).toBe(true);
    const userGot = readToEnd(user);
    app.end(answer);
    expect((await userGot).equals(answer)).toBe(true);
    expect(await r.ended).toEqual({ up: request.length, down: answer.length, how: 'eof', code: null, side: null });
    expect(await r.done).toBeNull();
    expect(r.stats).toEqual({ up: request.length, down: answer.length });
  });

  it('is byte-exact both ways when the server half-closes first, and the client goes on sending', async () => {
    const { user, app, r } = await chain();
    const banner = randomBytes(1024 * 1024 + 3);
    const upload = randomBytes(1024 * 1024);
    const userGot = readToEnd(user);
    app.end(banner);
    expect((await userGot).equals(banner)).toBe(true);
    const appGot = readToEnd(app);
    user.end(upload);
    expect((await appGot).equals(upload)).toBe(true);
    expect(await r.ended).toEqual({ up: upload.length, down: banner.length, how: 'eof', code: null, side: null });
  });

  it('passes a reset from the target on to the client as a reset', async () => {
    const { user, app, r } = await chain();
    const userEnds = howItEnds(user);
    app.resetAndDestroy();
    expect(await userEnds).toBe('ECONNRESET');
    expect(await r.ended).toMatchObject({ how: 'reset', code: 'ECONNRESET', side: 'target' });
    expect(((await r.done) as NodeJS.ErrnoException).code).toBe('ECONNRESET');
  });

  it('passes a reset from the client on to the target as a reset, in the middle of a transfer', async () => {
    const { user, app, r } = await chain();
    const appEnds = howItEnds(app); // reads (and drops) what arrives until the reset
    user.write(randomBytes(256 * 1024));
    await waitFor(() => app.bytesRead > 0, 'bytes through the relay');
    user.resetAndDestroy();
    expect(await appEnds).toBe('ECONNRESET');
    expect(await r.ended).toMatchObject({ how: 'reset', side: 'client' });
  });

  it('is cut by JavaScript: plainly (both sides see an end) or as a reset when given a reason', async () => {
    const plain = await chain();
    const userEnds = howItEnds(plain.user);
    const appEnds = howItEnds(plain.app);
    plain.r.destroy();
    expect([await userEnds, await appEnds]).toEqual(['end', 'end']);
    expect((await plain.r.ended).how).toBe('cut');
    expect(await plain.r.done).toBeNull();

    const hard = await chain();
    const userReset = howItEnds(hard.user);
    const appReset = howItEnds(hard.app);
    const reason = new Error('the forward stopped');
    hard.r.destroy(reason);
    expect([await userReset, await appReset]).toEqual(['ECONNRESET', 'ECONNRESET']);
    expect(await hard.r.done).toBe(reason);
    hard.r.destroy(); // a second cut of an ended relay is a no-op
  });

  it('does not take urgent data for the end of the stream (splice stops short there; the relay reads on)', async () => {
    let app!: net.Socket;
    const appPort = await serve((s) => (app = s));
    let relay: SpliceRelay | null = null;
    const frontPort = await serve((client) => {
      const upstream = net.connect(
        { port: appPort, host: '127.0.0.1', allowHalfOpen: true },
        () => (relay = spliceRelay(client, upstream)),
      );
    });
    // Python can send TCP urgent data (MSG_OOB); Node cannot.
    const script = [
      'import socket',
      `s = socket.create_connection(("127.0.0.1", ${frontPort}))`,
      's.sendall(b"abc"); s.send(b"!", socket.MSG_OOB); s.sendall(b"def" * 1000)',
      's.shutdown(socket.SHUT_WR)',
      'while s.recv(4096): pass',
    ].join('\n');
    const child = spawn('python3', ['-c', script], { stdio: 'ignore' });
    children.push(child);
    await waitFor(() => app, 'the target connection');
    const got = await readToEnd(app);
    // The urgent byte is not in the stream (as when Node reads it); everything after it is.
    expect(got.toString()).toBe(`abc${'def'.repeat(1000)}`);
    app.end();
    expect(await relay!.ended).toMatchObject({ how: 'eof', up: 3003 });
  });

  it('carries 200 connections at once, each byte-exact with its own half-close', async () => {
    const appPort = await serve((s) => {
      s.pipe(s); // echo; ends its side after the client's end
    });
    const relays: SpliceRelay[] = [];
    const frontPort = await serve((client) => {
      const upstream = net.connect({ port: appPort, host: '127.0.0.1', allowHalfOpen: true }, () => {
        const r = spliceRelay(client, upstream);
        if (r !== null) relays.push(r);
        else client.destroy();
      });
    });
    const payloads = Array.from({ length: 200 }, () => randomBytes(64 * 1024));
    const echoes = await Promise.all(
      payloads.map(async (p) => {
        const s = net.connect({ port: frontPort, host: '127.0.0.1', allowHalfOpen: true });
        const got = readToEnd(s, 30_000);
        s.end(p);
        return got;
      }),
    );
    echoes.forEach((e, i) => expect(e.equals(payloads[i]!)).toBe(true));
    const ends = await Promise.all(relays.map((r) => r.ended));
    expect(ends).toHaveLength(200);
    expect(ends.every((e) => e.how === 'eof' && e.up === 64 * 1024 && e.down === 64 * 1024)).toBe(true);
    expect(runningSpliceRelays()).toBe(0);
  });

  it('hands sockets over cleanly: no epoll instance of this process watches a file that is gone', async () => {
    const chains = await Promise.all(Array.from({ length: 20 }, () => chain()));
    await Promise.all(
      chains.map(async ({ user, app }) => {
        const got = readToEnd(app);
        user.end('ping');
        expect((await got).toString()).toBe('ping');
      }),
    );
    // Every epoll registration names an fd and the inode it had when registered; a socket
    // libuv forgot to drop would show up as a closed fd or one now holding another file.
    const stale: string[] = [];
    for (const fd of readdirSync('/proc/self/fd')) {
      let link: string;
      try {
        link = readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        continue;
      }
      if (link !== 'anon_inode:[eventpoll]') continue;
      for (const m of readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8').matchAll(/^tfd:\s+(\d+).*\bino:([0-9a-f]+)/gm)) {
        let ino: number | null = null;
        try {
          ino = fstatSync(Number(m[1])).ino;
        } catch {
          ino = null;
        }
        if (ino !== parseInt(m[2]!, 16)) stale.push(`epoll ${fd} watches fd ${m[1]} (inode ${m[2]}), now ${ino ?? 'closed'}`);
      }
    }
    expect(stale).toEqual([]);
  });
});
