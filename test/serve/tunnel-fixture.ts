/**
 * The serve tunnel's test bench, for both protocols (tunnel.test.ts, raw-tunnel.test.ts):
 * TunnelEndpoint in an HTTP server on loopback that hands it every upgrade to
 * /api/tunnel/<PORT>, targets on loopback, and stream helpers.
 */
import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { afterEach, expect } from 'vitest';
import { waitFor } from '../helpers/processes.js';
import type { Listener } from '../../src/listener.js';
import { TunnelEndpoint, tunnelPort } from '../../src/serve/tunnel.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

/** Runs `c` after the test. */
export function cleanup(c: () => void): void {
  cleanups.push(c);
}

export interface Fixture {
  base: URL;
  endpoint: TunnelEndpoint;
  /** The connections serve made to the target, as they were tracked. */
  upstreams: net.Socket[];
  logs: string[];
  /** What the endpoint said as each tunnel joined (+1) and ended (-1). */
  counts: number[];
}

export async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => server.close());
  return (server.address() as net.AddressInfo).port;
}

/** serve's HTTP side as far as the tunnel goes: every upgrade to /api/tunnel/<PORT> reaches the endpoint. */
export async function serveTunnel(): Promise<Fixture> {
  const counts: number[] = [];
  const endpoint = new TunnelEndpoint((delta) => counts.push(delta));
  const upstreams: net.Socket[] = [];
  const logs: string[] = [];
  const sockets = new Set<Duplex>();
  const server = http.createServer((_req, res) => res.end());
  server.on('upgrade', (req, socket: Duplex, head: Buffer) => {
    sockets.add(socket);
    const port = tunnelPort(req.url ?? '');
    if (port === null) return void socket.destroy();
    endpoint.handle(req, socket, head, port, {
      resolve: () => ({ ok: true, target: { host: '127.0.0.1', port, family: 4, tls: false }, listener: {} as Listener }),
      track: (s) => upstreams.push(s as net.Socket),
      log: (m) => logs.push(m),
    });
  });
  const port = await listen(server);
  cleanups.push(() => {
    endpoint.close();
    for (const s of sockets) s.destroy();
  });
  return { base: new URL(`http://127.0.0.1:${port}`), endpoint, upstreams, logs, counts };
}

/** A target that hands each accepted connection to `onSocket`. */
export async function target(onSocket: (s: net.Socket) => void): Promise<number> {
  const server = net.createServer({ allowHalfOpen: true }, onSocket);
  const sockets = new Set<net.Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('error', () => undefined); // resets are what some tests make
  });
  cleanups.push(() => sockets.forEach((s) => s.destroy()));
  return listen(server);
}

export const STALL_CAP = 512 * 1024 * 1024;

/** Writes 1 MiB chunks until the stream takes no more for 500 ms (or STALL_CAP); the bytes it took. */
export function writeUntilStalled(s: NodeJS.WritableStream): Promise<number> {
  const chunk = Buffer.alloc(1024 * 1024, 7);
  return new Promise((resolve) => {
    let n = 0;
    const pump = (): void => {
      while (n < STALL_CAP) {
        n += chunk.length;
        if (s.write(chunk)) continue;
        const drained = (): void => {
          clearTimeout(quiet);
          pump();
        };
        const quiet = setTimeout(() => {
          s.off('drain', drained);
          resolve(n);
        }, 500);
        return void s.once('drain', drained);
      }
      resolve(n);
    };
    pump();
  });
}

export const collect = (s: NodeJS.ReadableStream): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => resolve(Buffer.concat(chunks)));
    s.on('error', reject);
  });

export const closed = (s: Duplex): Promise<Error | null> =>
  new Promise((resolve) => {
    let error: Error | null = null;
    s.on('error', (e) => (error = e));
    s.once('close', () => resolve(error));
  });

/** The status serve answers an upgrade request to /api/tunnel/<port> with (101 when it switched). */
export function upgradeStatus(base: URL, port: number, headers: Record<string, string>, method = 'GET'): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(`/api/tunnel/${port}`, base), { method, headers: { Connection: 'Upgrade', ...headers } });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('upgrade', (res, socket: net.Socket) => {
      socket.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

/** A loopback port nothing listens on (it did a moment ago). */
export function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

type Open = (f: Fixture, port: number) => Promise<Duplex>;

/** One side's FIN leaves the other direction open: the target sees ours, and may still answer. */
export async function halfCloseKeepsTheOtherWay(open: Open): Promise<void> {
  const f = await serveTunnel();
  let toTarget: net.Socket | null = null;
  const port = await target((s) => (toTarget = s));
  const d = await open(f, port);
  await waitFor(() => toTarget, 'the connection in the target');
  const targetGot = collect(toTarget!);
  d.end(Buffer.from('question'));
  expect((await targetGot).toString()).toBe('question'); // the target saw our FIN...
  const back = collect(d);
  toTarget!.write('still '); // ...and may still answer
  toTarget!.end('answering');
  expect((await back).toString()).toBe('still answering');
}

/** How the target's connection ends when `cut` ends the forward's side: an error code, or 'a clean end'. */
export async function targetSees(f: Fixture, open: Open, cut: (d: Duplex) => void): Promise<string> {
  let toTarget: net.Socket | null = null;
  const port = await target((s) => (toTarget = s));
  const d = await open(f, port);
  await waitFor(() => toTarget, 'the connection in the target');
  const targetEnd = new Promise<string>((resolve) => {
    toTarget!.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    toTarget!.on('end', () => resolve('a clean end'));
  });
  d.on('error', () => undefined);
  cut(d);
  return targetEnd;
}

/** How the forward's side ends when the target resets the connection after the first byte. */
export async function whenTargetResets(f: Fixture, open: Open): Promise<Error | null> {
  const port = await target((s) => s.once('data', () => s.resetAndDestroy()));
  const d = await open(f, port);
  const done = closed(d);
  d.resume();
  d.write('x');
  return done;
}
