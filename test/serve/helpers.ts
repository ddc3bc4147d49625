/**
 * Helpers for the serve tests: servers that are always closed, HTTP requests with any Host
 * header, a real Server-Sent Events client, and in-process listeners on loopback.
 */
import { request, type IncomingHttpHeaders } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer } from 'node:net';
import { createServeServer, type ServeServer, type ServeServerOptions } from '../../src/serve/server.js';
import { waitFor } from '../helpers/processes.js';

const servers: ServeServer[] = [];
const netServers = new Set<NetServer>();
const sseClients = new Set<SseClient>();

/** Closes everything the helpers started; call from afterEach. */
export async function closeAll(): Promise<void> {
  for (const c of sseClients) c.close();
  sseClients.clear();
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await Promise.all([...netServers].map(closeNetServer));
}

/** A serve server on 127.0.0.1 and a free port, scanning every 50 ms, closed after the test. */
export async function startServe(options: ServeServerOptions = {}): Promise<ServeServer> {
  const server = createServeServer({
    host: '127.0.0.1',
    port: 0,
    processMetrics: false,
    ...options,
    watchOptions: { interval: 50, ...options.watchOptions },
  });
  servers.push(server);
  await server.listen();
  await server.ready();
  return server;
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
  /** Connect here instead of 127.0.0.1 (e.g. '::1'). */
  connectHost?: string;
  timeoutMs?: number;
}

/** One HTTP request to 127.0.0.1:port with exactly the headers given (Host defaults to localhost:port). */
export function httpGet(port: number, path: string, options: RequestOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: options.connectHost ?? '127.0.0.1',
        port,
        path,
        method: options.method ?? 'GET',
        headers: { host: `localhost:${port}`, ...options.headers },
        agent: false,
        timeout: options.timeoutMs ?? 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`request to ${path} timed out`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

export interface SseMessage {
  id: string | undefined;
  event: string;
  data: string;
}

/** A real SSE client: parses the stream as EventSource does (id, event, data, comments). */
export class SseClient {
  readonly messages: SseMessage[] = [];
  comments = 0;
  status = 0;
  headers: IncomingHttpHeaders = {};
  ended = false;
  private buffer = '';
  private current: { id?: string; event?: string; data: string[] } = { data: [] };
  private readonly destroy: () => void;
  readonly opened: Promise<void>;

  constructor(port: number, path = '/api/events', headers: Record<string, string> = {}) {
    sseClients.add(this);
    let onOpen!: () => void;
    let onFail!: (e: Error) => void;
    this.opened = new Promise((resolve, reject) => {
      onOpen = resolve;
      onFail = reject;
    });
    const req = request(
      { host: '127.0.0.1', port, path, headers: { host: `localhost:${port}`, accept: 'text/event-stream', ...headers }, agent: false },
      (res) => {
        this.status = res.statusCode ?? 0;
        this.headers = res.headers;
        res.setEncoding('utf8');
        res.on('data', (text: string) => this.feed(text));
        res.on('end', () => (this.ended = true));
        res.on('close', () => (this.ended = true));
        onOpen();
      },
    );
    req.on('error', (e) => {
      this.ended = true;
      onFail(e);
    });
    req.end();
    this.destroy = () => req.destroy();
  }

  /** Messages that are PortEvents (no `event:` field). */
  events(): { id: number; type: string; port: number; listener: Record<string, unknown> }[] {
    return this.messages
      .filter((m) => m.event === 'message')
      .map((m) => {
        const e = JSON.parse(m.data) as { type: string; listener: { port: number } & Record<string, unknown> };
        return { id: Number(m.id), type: e.type, port: e.listener.port, listener: e.listener };
      });
  }

  named(event: string): unknown[] {
    return this.messages.filter((m) => m.event === event).map((m) => JSON.parse(m.data) as unknown);
  }

  until<T>(check: (c: this) => T, what: string, timeoutMs = 10_000): Promise<NonNullable<T>> {
    return waitFor(() => check(this), what, timeoutMs, 5);
  }

  close(): void {
    this.destroy();
    sseClients.delete(this);
  }

  private feed(text: string): void {
    this.buffer += text;
    for (;;) {
      const nl = this.buffer.indexOf('\n');
      if (nl < 0) return;
      const line = this.buffer.slice(0, nl).replace(/\r$/, '');
      this.buffer = this.buffer.slice(nl + 1);
      this.line(line);
    }
  }

  private line(line: string): void {
    if (line === '') {
      if (this.current.data.length > 0) {
        this.messages.push({ id: this.current.id, event: this.current.event ?? 'message', data: this.current.data.join('\n') });
      }
      this.current = { data: [] };
      return;
    }
    if (line.startsWith(':')) {
      this.comments++;
      return;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'id') this.current.id = value;
    else if (field === 'event') this.current.event = value;
    else if (field === 'data') this.current.data.push(value);
  }
}

/** A TCP listener in this process on `host`, closed after the test (connections are dropped at once). */
export async function listenTcp(host = '127.0.0.1', port = 0): Promise<{ server: NetServer; port: number; close: () => Promise<void> }> {
  const server = createNetServer((socket) => socket.destroy());
  netServers.add(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port, close: () => closeNetServer(server) };
}

function closeNetServer(server: NetServer): Promise<void> {
  netServers.delete(server);
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A filter that only lets these ports through (tests run in parallel; other files open listeners too). */
export function portsIn(ports: Set<number>): (l: { port: number }) => boolean {
  return (l) => ports.has(l.port);
}
