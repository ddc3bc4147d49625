/**
 * `portwatch serve` as a library: createServeServer() returns a server that watches the
 * listening sockets and serves the live page, the API, the proxy and the metrics. This
 * module puts serve together and runs its life (listen, close): what serve knows (the
 * table, events, probes, health) lives in live-state.ts, the HTTP server and its binding in
 * http-server.ts, and where each request and upgrade goes, after the one access decision
 * (auth.ts), in dispatch.ts.
 */
import type { Server } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import { PortwatchError } from '../errors.js';
import type { Listener } from '../listener.js';
import { netnsOf } from '../namespaces.js';
import { checkExposure } from './bind-address.js';
import { Dispatcher } from './dispatch.js';
import { createHttpServer, listenHttp } from './http-server.js';
import { urlHost, DEFAULT_SERVE_HOST, DEFAULT_SERVE_PORT } from './listen-address.js';
import type { ListenerTable, ListenerView } from './listener-table.js';
import { LiveState } from './live-state.js';
import type { ServeMetrics } from './metrics.js';
import { createProxyAgents, type ProxyAgents } from './proxy.js';
import type { ServeWatcher } from './live-state.js';
import { normalizeAllowedHost } from './security.js';
import { ServeForwards, type ForwardSource } from './forwards.js';
import { PROBE_MAX_BYTES, PROBE_TIMEOUT_MS } from './http-probe.js';
import type { ServeAddress, ServeLogger, ServeServerOptions } from './serve-options.js';
import { SessionStore, TicketLedger } from './sessions.js';

export { checkExposure } from './bind-address.js';
export type { ProbeSettings, ServeAddress, ServeLogger, ServeServerOptions } from './serve-options.js';

const silent: ServeLogger = { debug() {}, info() {}, warn() {} };

export class ServeServer {
  readonly table: ListenerTable;
  readonly metrics: ServeMetrics;
  private readonly options: ServeServerOptions;
  private readonly token: string | null;
  private readonly state: LiveState;
  private readonly http: Server;
  private readonly agents: ProxyAgents;
  private readonly logger: ServeLogger;
  private readonly servePorts = new Set<number>();
  private readonly ownNetns: string | null;
  /** False when the watched namespace (--netns-pid) cannot be compared with ours: then nothing is proxied or probed. */
  private readonly namespaceKnown: boolean;
  private readonly dispatch: Dispatcher;
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
    const allowHosts = (options.allowHosts ?? []).map(normalizeAllowedHost).filter((h) => h !== '');
    this.logger = options.logger ?? silent;
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
    this.dispatch = new Dispatcher({
      options,
      auth: { token, allowHosts, sessions: new SessionStore(), tickets: new TicketLedger() },
      own: { api: this.state.api, token, allowHosts, forwards },
      table: this.table,
      metrics: this.metrics,
      proxy: { servePorts: this.servePorts, netns: this.ownNetns, namespaceKnown: this.namespaceKnown },
      agents: this.agents,
      logger: this.logger,
    });
    this.http = createHttpServer(options);
    this.http.on('request', (req, res) => this.dispatch.onRequest(req, res));
    this.http.on('upgrade', (req, socket, head) => this.dispatch.onUpgrade(req, socket, head as Buffer));
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
    let bound: AddressInfo;
    try {
      bound = await listenHttp(this.http, this.options.host ?? DEFAULT_SERVE_HOST, this.options.port ?? DEFAULT_SERVE_PORT, this.token);
    } catch (e) {
      await this.state.closeFiles();
      throw e;
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
    this.dispatch.close();
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
