/**
 * `portwatch serve` as a library: createServeServer() returns a server that watches the
 * listening sockets and serves the live page, the API, the proxy and the metrics. This
 * module is the HTTP side: binding, the one access decision (auth.ts) for requests and
 * upgrades, routing, and handing proxied requests to proxy.ts. What serve knows (the table,
 * events, probes, health) lives in live-state.ts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { PortwatchError } from '../errors.js';
import type { Listener } from '../listener.js';
import { netnsOf } from '../namespaces.js';
import { authorize, type AuthContext, type AuthRequest } from './auth.js';
import { checkExposure, defaultMaxConnections, resolveListenHost } from './bind-address.js';
import { isLoopbackHost, urlHost, DEFAULT_SERVE_HOST, DEFAULT_SERVE_PORT } from './listen-address.js';
import type { ListenerTable, ListenerView } from './listener-table.js';
import { LiveState } from './live-state.js';
import type { ServeMetrics } from './metrics.js';
import { createProxyAgents, forwardRequest, forwardUpgrade, type ProxyAgents } from './proxy.js';
import { resolveProxyTarget, type ProxyContext } from './proxy-target.js';
import { SECURITY_HEADERS, rejectUpgrade, sendError } from './responses.js';
import { TunnelEndpoint, tunnelPort } from './tunnel.js';
import type { ServeWatcher } from './live-state.js';
import { normalizeAllowedHost } from './security.js';
import { ServeForwards, type ForwardSource } from './forwards.js';
import { PROBE_MAX_BYTES, PROBE_TIMEOUT_MS } from './http-probe.js';
import { routeOwn } from './own-routes.js';
import type { ServeAddress, ServeLogger, ServeServerOptions } from './serve-options.js';
import { SessionStore, TicketLedger } from './sessions.js';

export { checkExposure } from './bind-address.js';
export type { ProbeSettings, ServeAddress, ServeLogger, ServeServerOptions } from './serve-options.js';

const DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024;
const DEFAULT_MAX_HEADER_BYTES = 16 * 1024;
const silent: ServeLogger = { debug() {}, info() {}, warn() {} };

export class ServeServer {
  readonly table: ListenerTable;
  readonly metrics: ServeMetrics;
  private readonly options: ServeServerOptions;
  private readonly token: string | null;
  private readonly allowHosts: string[];
  private readonly state: LiveState;
  private readonly http: Server;
  private readonly agents: ProxyAgents;
  private readonly logger: ServeLogger;
  private readonly servePorts = new Set<number>();
  private readonly ownNetns: string | null;
  /** False when the watched namespace (--netns-pid) cannot be compared with ours: then nothing is proxied or probed. */
  private readonly namespaceKnown: boolean;
  private readonly upgraded = new Set<Duplex>();
  private readonly tunnel = new TunnelEndpoint();
  private readonly auth: AuthContext;
  private readonly forwards: ServeForwards | null;
  private address: ServeAddress | null = null;
  private closing: Promise<void> | null = null;
  private listening: Promise<ServeAddress> | null = null;

  constructor(options: ServeServerOptions = {}, attach: ServeAttachments = {}) {
    this.options = options;
    const token = options.token ?? null;
    if (token !== null && (typeof token !== 'string' || token.trim() === ''))
      throw new PortwatchError('EUSAGE', 'the token must not be empty');
    this.token = token;
    // A name is checked once resolved (bind()); an address can be refused at once.
    const host = options.host ?? DEFAULT_SERVE_HOST;
    if (isIP(host.replace(/^\[|\]$/g, '')) !== 0) checkExposure(host, token);
    this.allowHosts = (options.allowHosts ?? []).map(normalizeAllowedHost).filter((h) => h !== '');
    this.logger = options.logger ?? silent;
    this.auth = { token, allowHosts: this.allowHosts, sessions: new SessionStore(), tickets: new TicketLedger() };
    this.ownNetns = netnsOf();
    const netnsPid = options.watchOptions?.netnsPid;
    // Unprivileged, another user's /proc/PID/ns/net reads as null: then a port number could
    // name a socket of the host as well as one of the namespace, and the proxy must not guess.
    this.namespaceKnown = netnsPid === undefined || (this.ownNetns !== null && netnsOf(netnsPid) !== null);
    const forwards = attach.forwards
      ? new ServeForwards(attach.forwards, { broadcast: (m) => this.state.hub.broadcast(m), probe: forwardProbe(options.probe) })
      : null;
    this.forwards = forwards;
    this.state = new LiveState(options, {
      isOwn: (l) => this.isOwn(l),
      reachable: (l) => this.namespaceKnown && (this.ownNetns === null || l.netns === null || l.netns === this.ownNetns),
      open: options.proxy === false || !this.namespaceKnown ? null : { netns: this.ownNetns },
      logger: this.logger,
      ...(attach.watcher ? { watcher: attach.watcher } : {}),
      ...(forwards ? { prelude: () => forwards.prelude() } : {}),
    });
    if (forwards && attach.watcher) {
      attach.watcher.on('open', (e) => forwards.listenerChanged('open', e.listener));
      attach.watcher.on('close', (e) => forwards.listenerChanged('close', e.listener));
    }
    this.table = this.state.table;
    this.metrics = this.state.metrics;
    this.agents = createProxyAgents();
    this.http = createServer({ maxHeaderSize: options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES, noDelay: true });
    this.http.headersTimeout = 30_000;
    // No client may hold connections (and so file descriptors) for free: idle ones are closed,
    // and beyond the limit new ones are refused, so that serve keeps fds for its own work.
    this.http.timeout = options.idleTimeoutMs ?? 120_000;
    this.http.keepAliveTimeout = Math.min(5_000, this.http.timeout);
    this.http.maxConnections = options.maxConnections ?? defaultMaxConnections();
    this.http.on('request', (req, res) => this.onRequest(req, res));
    this.http.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head as Buffer));
  }

  /** The watcher (after listen()). */
  get watcher(): ServeWatcher {
    const w = this.state.watcher;
    if (!w) throw new Error('the server is not listening yet');
    return w;
  }

  /** Where it listens (after listen()). */
  get url(): string {
    if (!this.address) throw new Error('the server is not listening yet');
    return this.address.url;
  }

  get port(): number {
    if (!this.address) throw new Error('the server is not listening yet');
    return this.address.port;
  }

  /** The listeners as the API shows them. */
  listeners(): ListenerView[] {
    return this.table.list();
  }

  /** Binds, then starts watching. Throws PortwatchError('EUSAGE') when the address cannot be used. Idempotent. */
  listen(): Promise<ServeAddress> {
    this.listening ??= this.bind();
    return this.listening;
  }

  private async bind(): Promise<ServeAddress> {
    if (this.closing) throw new PortwatchError('EUSAGE', 'the server was closed');
    await this.state.openEventsFile();
    const named = this.options.host ?? DEFAULT_SERVE_HOST;
    const port = this.options.port ?? DEFAULT_SERVE_PORT;
    let host: string;
    try {
      host = await resolveListenHost(named);
      // What is bound decides, not the text: /etc/hosts may map `localhost` elsewhere.
      if (host !== named) checkExposure(`${host} (${named})`, this.token);
      await new Promise<void>((resolve, reject) => {
        this.http.once('error', reject);
        this.http.listen({ host, port }, () => {
          this.http.off('error', reject);
          resolve();
        });
      });
    } catch (e) {
      await this.state.closeFiles();
      if (e instanceof PortwatchError) throw e;
      const err = e as NodeJS.ErrnoException;
      const why =
        err.code === 'EADDRINUSE' ? 'the address is in use' : err.code === 'EADDRNOTAVAIL' ? 'no such local address' : err.message;
      throw new PortwatchError('EUSAGE', `cannot listen on ${urlHost(named)}:${port}: ${why}`, { cause: e });
    }
    const bound = this.http.address() as AddressInfo;
    if (this.token === null && !isLoopbackHost(bound.address)) {
      await new Promise<void>((resolve) => this.http.close(() => resolve()));
      await this.state.closeFiles();
      checkExposure(bound.address, null);
    }
    this.servePorts.add(bound.port);
    const family = bound.family === 'IPv6' ? 6 : 4;
    this.address = { host: bound.address, port: bound.port, family, url: `http://${urlHost(bound.address)}:${bound.port}/` };
    this.state.start();
    return this.address;
  }

  /** Resolves once the first scan is done. */
  ready(): Promise<void> {
    return this.state.ready();
  }

  /** Ends event streams, stops accepting, closes the watcher, flushes the events file. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const closed = this.http.listening ? new Promise<void>((resolve) => this.http.close(() => resolve())) : Promise.resolve();
    for (const s of this.upgraded) s.destroy();
    this.upgraded.clear();
    this.tunnel.close();
    this.http.closeIdleConnections();
    const grace = setTimeout(() => this.http.closeAllConnections(), this.options.shutdownGraceMs ?? 1_000);
    this.forwards?.close();
    await this.state.close();
    await closed;
    clearTimeout(grace);
    this.agents.http.destroy();
    this.agents.https.destroy();
    await this.state.closeFiles();
  }

  /** portwatch's own listening socket(s): not listed, not probed, never proxied to. */
  private isOwn(l: Listener): boolean {
    return (
      l.protocol === 'tcp' &&
      this.servePorts.has(l.port) &&
      (l.process === null || l.process.pid === process.pid) &&
      (this.ownNetns === null || l.netns === null || l.netns === this.ownNetns)
    );
  }

  // ---- HTTP ----------------------------------------------------------------------------

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    this.route(req, res).catch((e: unknown) => {
      this.logger.warn(`request ${req.method} ${req.url} failed: ${(e as Error).message}`);
      if (!res.headersSent) sendError(req, res, 500, 'internal error');
      else res.destroy();
    });
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const decision = authorize(authRequest(req, false), this.auth);
    if (decision.kind === 'deny') {
      req.resume();
      return sendError(req, res, decision.status, decision.message, { hint: decision.hint, headers: decision.headers });
    }
    if (decision.kind === 'redirect') {
      req.resume();
      res.writeHead(decision.status, {
        ...SECURITY_HEADERS,
        Location: decision.location,
        'Cache-Control': 'no-store',
        ...(decision.setCookie === null ? {} : { 'Set-Cookie': decision.setCookie }),
      });
      res.end();
      return;
    }
    if (decision.setCookie !== null) res.setHeader('Set-Cookie', decision.setCookie);
    const to = decision.to;
    if (to.kind === 'proxy') return this.proxy(req, res, to.port, to.path, to.prefix);
    return routeOwn(req, res, to.target, {
      api: this.state.api,
      token: this.token,
      allowHosts: this.allowHosts,
      forwards: this.forwards,
    });
  }

  private proxyContext(): ProxyContext {
    return { servePorts: this.servePorts, netns: this.ownNetns, namespaceKnown: this.namespaceKnown };
  }

  private proxy(req: IncomingMessage, res: ServerResponse, port: number, path: string, prefix: string | null): void {
    if (this.options.proxy === false) return sendError(req, res, 404, 'the proxy is turned off (--no-proxy)');
    const resolved = resolveProxyTarget(port, Array.from(this.table.values()), this.proxyContext());
    if (!resolved.ok) {
      this.metrics.proxyRequests.inc({ status: String(resolved.status) });
      req.resume();
      return sendError(req, res, resolved.status, `${resolved.reason}.`, {
        hint:
          resolved.status === 502
            ? 'Start the server on that port, then reload: portwatch forwards to it as soon as it listens.'
            : undefined,
      });
    }
    forwardRequest(req, res, {
      target: resolved.target,
      port,
      path,
      prefix,
      publicHost: req.headers.host ?? 'localhost',
      token: this.token,
      maxBodyBytes: this.options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
      agents: this.agents,
      onStatus: (status) => this.metrics.proxyRequests.inc({ status: String(status) }),
      log: (message) => this.logger.warn(message),
    });
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    try {
      this.upgrade(req, socket, head);
    } catch (e) {
      // Nothing a client or a target sends may end the process: this request fails alone.
      this.logger.warn(`upgrade ${req.method} ${splitPath(req.url)} failed: ${(e as Error).message}`);
      rejectUpgrade(socket, 500, 'internal error');
    }
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const decision = authorize(authRequest(req, true), this.auth);
    if (decision.kind === 'deny') return rejectUpgrade(socket, decision.status, decision.message, decision.headers);
    if (decision.kind === 'redirect') return rejectUpgrade(socket, 404, `no WebSocket endpoint at ${splitPath(req.url)}`);
    if (decision.to.kind === 'own') return this.tunnelUpgrade(req, socket, head, decision.to.target.path);
    const { port, path, prefix } = decision.to;
    if (this.options.proxy === false) return rejectUpgrade(socket, 404, 'the proxy is turned off (--no-proxy)');
    const resolved = resolveProxyTarget(port, Array.from(this.table.values()), this.proxyContext());
    if (!resolved.ok) {
      this.metrics.proxyRequests.inc({ status: String(resolved.status) });
      return rejectUpgrade(socket, resolved.status, resolved.reason);
    }
    forwardUpgrade(req, socket, head, {
      target: resolved.target,
      port,
      path,
      prefix,
      publicHost: req.headers.host ?? 'localhost',
      token: this.token,
      onStatus: (status) => this.metrics.proxyRequests.inc({ status: String(status) }),
      log: (message) => this.logger.warn(message),
      track: (s) => {
        this.upgraded.add(s);
        s.once('close', () => this.upgraded.delete(s));
      },
    });
  }

  /** `portwatch forward URL`'s end: /api/tunnel/<PORT> (see tunnel.ts); off with the proxy. */
  private tunnelUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, path: string): void {
    const port = tunnelPort(path);
    if (port === null) return rejectUpgrade(socket, 404, `no WebSocket endpoint at ${path}`);
    if (this.options.proxy === false) return rejectUpgrade(socket, 404, 'the tunnel is turned off with the proxy (--no-proxy)');
    const track = (s: Duplex): void => {
      this.upgraded.add(s);
      s.once('close', () => this.upgraded.delete(s));
    };
    track(socket);
    this.tunnel.handle(req, socket, head, port, {
      resolve: (p) => resolveProxyTarget(p, Array.from(this.table.values()), this.proxyContext()),
      track,
      log: (message) => this.logger.warn(message),
    });
  }
}

function authRequest(req: IncomingMessage, upgrade: boolean): AuthRequest {
  return { method: req.method, url: req.url, headers: req.headers, rawHeaders: req.rawHeaders, upgrade };
}

function splitPath(url: string | undefined): string {
  return (url ?? '').split('?')[0] ?? '';
}

/**
 * What `portwatch forward --serve` hands serve: the target's watcher (serve then starts none
 * of its own; its filter still applies) and the forwards (/api/forwards, events, the page).
 */
export interface ServeAttachments {
  watcher?: ServeWatcher;
  forwards?: ForwardSource;
}

function forwardProbe(probe: ServeServerOptions['probe']): { timeoutMs: number; maxBytes: number } | null {
  if (probe === false) return null;
  const given = probe === true || probe === undefined ? {} : probe;
  return { timeoutMs: given.timeoutMs ?? PROBE_TIMEOUT_MS, maxBytes: given.maxBytes ?? PROBE_MAX_BYTES };
}

/** A `portwatch serve` server; call listen() to start it and close() to stop it. */
export function createServeServer(options: ServeServerOptions = {}, attach: ServeAttachments = {}): ServeServer {
  return new ServeServer(options, attach);
}
