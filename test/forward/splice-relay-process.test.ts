/**
 * The splice relay as a process meets it: the relay alone keeps Node alive while it runs
 * and not after (the process exits by itself once the relay ended or was cut), and a reader
 * that stops reading does not grow the relaying process's memory.
 */
import { createHash, randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { spliceRelayUnavailable } from '../../src/forward/splice-relay.js';
import { waitFor } from '../helpers/processes.js';
import { closePairs, howItEnds, serve } from './splice-pairs.js';

const CHILD = fileURLToPath(new URL('./splice-relay-child.mjs', import.meta.url));
const why = spliceRelayUnavailable();

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) process.kill(c.pid!, 'SIGKILL');
  closePairs();
});

interface Relayer {
  child: ChildProcess;
  lines: Record<string, unknown>[];
  exited: Promise<number | null>;
}

/** The relaying child, connected to `appPort`; resolves once a user connection is spliced. */
async function relayThrough(appPort: number): Promise<{ relayer: Relayer; user: net.Socket }> {
  const child = spawn(process.execPath, [CHILD, String(appPort)], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const lines: Record<string, unknown>[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => lines.push(JSON.parse(l) as Record<string, unknown>));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const { port } = (await waitFor(() => lines.find((l) => 'port' in l), 'the relayer listening')) as { port: number };
  const user = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  user.on('error', () => undefined);
  await waitFor(() => lines.some((l) => l.spliced === true), 'the connection spliced');
  return { relayer: { child, lines, exited }, user };
}

function rssKb(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
}

describe.skipIf(why !== null)('splice relay in a process', () => {
  it('keeps the process alive while the relay runs, and lets it exit once the relay ended', async () => {
    const appPort = await serve((s) => s.pipe(s)); // echo, then end after the client's end
    const { relayer, user } = await relayThrough(appPort);
    // The listener is closed: only the relay keeps the process alive, and it still relays.
    const echoed = new Promise<Buffer>((r) => user.once('data', r));
    user.write('still here');
    expect((await echoed).toString()).toBe('still here');
    expect(relayer.child.exitCode).toBeNull();
    const ends = howItEnds(user);
    user.end();
    expect(await ends).toBe('end');
    expect(await relayer.exited).toBe(0);
    expect(relayer.lines.at(-1)).toMatchObject({ how: 'eof', up: 10, down: 10 });
  });

  it('exits after a cut with nothing pending', async () => {
    const appPort = await serve(() => undefined); // holds the connection, says nothing
    const { relayer, user } = await relayThrough(appPort);
    const ends = howItEnds(user);
    process.kill(relayer.child.pid!, 'SIGUSR2');
    expect(await ends).toBe('end');
    expect(await relayer.exited).toBe(0);
    expect(relayer.lines.at(-1)).toMatchObject({ how: 'cut' });
  });

  it('does not grow the relaying process when the reader stops: the writer is stopped instead', async () => {
    let app!: net.Socket;
    const appPort = await serve((s) => (app = s)); // accepted paused: reads nothing
    const { relayer, user } = await relayThrough(appPort);
    await waitFor(() => app, 'the target connection');
    const before = rssKb(relayer.child.pid!);
    const chunk = randomBytes(64 * 1024);
    const sent = createHash('sha256');
    let written = 0;
    const write = (): boolean => {
      sent.update(chunk);
      written += chunk.length;
      return user.write(chunk);
    };
    // Write until the kernel's buffers end to end are full and no drain comes for 500 ms.
    for (let stalled = false; !stalled;) {
      while (written < 512 * 1024 * 1024 && write());
      expect(written).toBeLessThan(512 * 1024 * 1024);
      stalled = !(await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 500);
        user.once('drain', () => {
          clearTimeout(timer);
          resolve(true);
        });
      }));
    }
    const held = rssKb(relayer.child.pid!);
    expect(written).toBeGreaterThan(1024 * 1024);
    expect(held - before).toBeLessThan(8 * 1024); // KiB: what waits is in the kernel, not in the relay
    // The reader comes back: every byte arrives, in order.
    const got = createHash('sha256');
    let received = 0;
    app.on('data', (c: Buffer) => {
      got.update(c);
      received += c.length;
    });
    app.resume();
    user.end();
    await new Promise<void>((r) => app.once('end', r));
    expect(received).toBe(written);
    expect(got.digest('hex')).toBe(sent.digest('hex'));
    app.end();
    expect(await relayer.exited).toBe(0);
  });
});
