/**
 * Helpers for the proxy tests: targets that are always closed (node:http, raw TCP that
 * writes whatever bytes a test wants), a portwatch serve that lists given ports, and a bare
 * proxy — forwardRequest/forwardUpgrade behind a plain node:http server — for options that
 * serve does not expose (small timeouts, small agents).
 */
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import {
  createProxyAgents,
  forwardRequest,
  forwardUpgrade,
  type ForwardOptions,
  type ProxyAgents,
  type UpgradeOptions,
} from '../../src/serve/proxy.js';
import type { ServeServer } from '../../src/serve/server.js';
import { waitFor } from '../helpers/processes.js';
import { closeAll, portsIn, startServe } from './helpers.js';

const httpServers = new Set<HttpServer>();
const netServers = new Map<NetServer, Set<Socket>>();
const wsServers = new Set<WebSocketServer>();
const agentSets = new Set<ProxyAgents>();
const tunnels = new Set<Duplex>();

/** Closes every server and connection these helpers (and helpers.ts) started; call from afterEach. */
export async function closeProxyFixtures(): Promise<void> {
  await closeAll();
  for (const a of agentSets) {
    a.http.destroy();
    a.https.destroy();
  }
  agentSets.clear();
  for (const t of tunnels) t.destroy();
  tunnels.clear();
  for (const s of wsServers) {
    for (const c of s.clients) c.terminate();
    await new Promise<void>((r) => s.close(() => r()));
  }
  wsServers.clear();
  for (const s of httpServers) {
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
  httpServers.clear();
  for (const [s, sockets] of netServers) {
    for (const c of sockets) c.destroy();
    await new Promise<void>((r) => s.close(() => r()));
  }
  netServers.clear();
}

async function listening(server: NetServer | HttpServer, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

/** A node:http target on 127.0.0.1. */
export async function httpTarget(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ server: HttpServer; port: number }> {
  const server = createHttpServer(handler);
  httpServers.add(server);
  return { server, port: await listening(server, '127.0.0.1') };
}

/** A raw TCP target on 127.0.0.1: the handler gets each connection; `sockets` holds the open ones. allowHalfOpen: it does not close when the peer does. */
export async function rawTarget(
  onConnection: (socket: Socket) => void,
  options: { allowHalfOpen?: boolean } = {},
): Promise<{ port: number; sockets: Set<Socket>; accepted: () => number }> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createNetServer({ allowHalfOpen: options.allowHalfOpen ?? false }, (socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.once('close', () => sockets.delete(socket));
    onConnection(socket);
  });
  netServers.set(server, sockets);
  return { port: await listening(server, '127.0.0.1'), sockets, accepted: () => accepted };
}

/** A WebSocket echo target on 127.0.0.1. */
export async function wsEchoTarget(): Promise<{ server: WebSocketServer; port: number; urls: string[] }> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  wsServers.add(server);
  await new Promise<void>((r) => server.once('listening', () => r()));
  const urls: string[] = [];
  server.on('connection', (socket, req) => {
    urls.push(req.url ?? '');
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
  });
  return { server, port: (server.address() as AddressInfo).port, urls };
}

/** Reads one request head (up to the blank line) from a raw socket, with what came after it. */
export function readHead(socket: Socket): Promise<{ head: string; rest: Buffer }> {
  return new Promise((resolve) => {
    let buffered = Buffer.alloc(0);
    const onData = (d: Buffer): void => {
      buffered = Buffer.concat([buffered, d]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      resolve({ head: buffered.subarray(0, end + 4).toString('latin1'), rest: buffered.subarray(end + 4) });
    };
    socket.on('data', onData);
  });
}

/** A serve whose table holds only `ports`, waiting until each is listed. */
export async function serveFor(ports: number[], options: Parameters<typeof startServe>[0] = {}): Promise<ServeServer> {
  const wanted = new Set(ports);
  const server = await startServe({ probe: false, filter: portsIn(wanted), ...options });
  await waitFor(() => ports.every((p) => server.listeners().some((l) => l.port === p)), `ports ${ports.join(', ')} to be listed`);
  return server;
}

export type BareOptions = Partial<Omit<ForwardOptions, 'target' | 'path' | 'publicHost'> & Pick<UpgradeOptions, 'idleTimeoutMs'>>;

/** forwardRequest/forwardUpgrade to 127.0.0.1:`targetPort` behind a plain node:http server on 127.0.0.1. */
export async function bareProxy(
  targetPort: number,
  options: BareOptions = {},
): Promise<{ port: number; statuses: number[]; tracked: Set<Duplex>; logged: string[] }> {
  const statuses: number[] = [];
  const tracked = new Set<Duplex>();
  const logged: string[] = [];
  const agents = options.agents ?? createProxyAgents();
  agentSets.add(agents);
  const common = {
    target: { host: '127.0.0.1', port: targetPort, family: 4 as const, tls: false },
    port: targetPort,
    prefix: null,
    token: null,
    onStatus: (s: number) => statuses.push(s),
    log: (m: string) => logged.push(m),
    ...options,
  };
  const server = createHttpServer((req, res) =>
    forwardRequest(req, res, { maxBodyBytes: 1 << 20, agents, ...common, path: req.url ?? '/', publicHost: req.headers.host ?? '' }),
  );
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    forwardUpgrade(req, socket, head, {
      ...common,
      path: req.url ?? '/',
      publicHost: req.headers.host ?? '',
      track: (s) => {
        tracked.add(s);
        tunnels.add(s);
        s.once('close', () => tracked.delete(s));
      },
    });
  });
  httpServers.add(server);
  return { port: await listening(server, '127.0.0.1'), statuses, tracked, logged };
}
