/**
 * `portwatch serve` as a library: createServeServer() returns a server that watches the
 * listening sockets and serves the live page, the API, the proxy and the metrics. The
 * modules around it each do one thing; this one wires them to the watcher and to HTTP.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { lookup } from 'node:dns/promises';
import { isIP, type AddressInfo } from 'node:net';
import { hostname as osHostname } from 'node:os';
import type { Duplex } from 'node:stream';
import { PortwatchError } from '../errors.js';
import { listenerKey, type Listener, type PortEvent } from '../listener.js';
import { netnsOf } from '../namespaces.js';
import { PortWatcher, watch, type WatchOptions } from '../watch/watcher.js';
import {
  eventMessage,
  handleEvents,
  handleHealth,
  handleListeners,
  handleMetrics,
  silentMessage,
  updateMessage,
  type ApiContext,
  type HealthReport,
  type LoggedEvent,
} from './api.js';
import { APP_CSS, APP_JS, INDEX_HTML, type Asset } from './dashboard/assets.js';
import { EventLog } from './event-log.js';
import { EventsFile, DEFAULT_EVENTS_FILE_MAX_BYTES } from './events-file.js';
import { PROBE_MAX_BYTES, PROBE_TIMEOUT_MS, probeHttp, shouldProbe } from './http-probe.js';
import { isLoopbackHost, urlHost, DEFAULT_SERVE_HOST, DEFAULT_SERVE_PORT } from './listen-address.js';
import { ListenerTable, type LabelFn, type ListenerView } from './listener-table.js';
import { createServeMetrics, type ServeMetrics } from './metrics.js';
import { ProbeQueue } from './probe-queue.js';
import { createProxyAgents, forwardRequest, forwardUpgrade, type ProxyAgents } from './proxy.js';
import { connectAddress, resolveProxyTarget, type ProxyContext } from './proxy-target.js';
import { PAGE_CSP, SECURITY_HEADERS, rejectUpgrade, sendError } from './responses.js';
import { authorize, type AuthContext, type AuthRequest } from './auth.js';
import { openLocation, proxyPathRoute } from './routing.js';
import { AUTH_PATH, createTicket, normalizeAllowedHost, parseHostHeader } from './security.js';
import { SessionStore, TicketLedger } from './sessions.js';
import { SseHub } from './sse.js';

export interface ServeLogger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
}

export interface ProbeSettings {
  /** Per listener, both attempts together (default 1000 ms). */
  timeoutMs?: number;
  /** Bytes read per attempt (default 64 KiB). */
  maxBytes?: number;
  /** Probes at a time (default 4). */
  concurrency?: number;
}

export interface ServeServerOptions {
  /** Address to listen on (default 127.0.0.1). Anything but loopback requires `token`. */
  host?: string;
  /** Port (default 4040; 0 picks a free one). */
  port?: number;
  /** Every request must carry it (Bearer header, or the cookie set by opening /?token=…). */
  token?: string | null;
  /** More Host names to answer to (and p<PORT>. under them), besides localhost and IP addresses. */
  allowHosts?: readonly string[];
  /** How to watch: source, netnsPid, interval… (the filter goes in `filter`). */
  watchOptions?: Omit<WatchOptions, 'filter' | 'signal' | 'persistent'>;
  /** Only these listeners are listed, announced and proxied to. */
  filter?: (l: Listener) => boolean;
  /** A label for each listener (e.g. from a rules file), shown as `label` in the JSON. */
  label?: LabelFn;
  /**
   * False for "silent" listeners: listed (API, page), but their opens and closes are not
   * announced — not in the event log, the default event stream messages, the events file or
   * portwatch_events_total. The stream carries them as `event: silent` so live pages stay right.
   */
  announce?: (l: Listener) => boolean;
  /** Append every event to this file as NDJSON. */
  eventsFile?: string | null;
  /** Rotate the events file to `<file>.1` at this size (default 10 MiB). */
  eventsFileMaxBytes?: number;
  /** Recent events kept for Last-Event-ID and ?since= (default 1000). */
  history?: number;
  /** Heartbeat comment on event streams this often (default 15 s). */
  heartbeatMs?: number;
  /** HTTP detection of new TCP listeners (default on). */
  probe?: boolean | ProbeSettings;
  /** The reverse proxy (default on). */
  proxy?: boolean;
  /** Largest request body the proxy forwards (default 32 MiB). */
  maxBodyBytes?: number;
  /** Largest request head (default 16 KiB; beyond it: 431). */
  maxHeaderBytes?: number;
  /** Export process_* and nodejs_* metrics too (default true). */
  processMetrics?: boolean;
  /** A client connection with no byte in either direction for this long is closed (default 120 s; event streams send a heartbeat). */
  idleTimeoutMs?: number;
  /** Client connections at a time; more are refused (default: a quarter of the open-file limit, 64–16384). */
  maxConnections?: number;
  /** How long close() lets requests in flight finish before cutting them (default 1 s). */
  shutdownGraceMs?: number;
  logger?: ServeLogger;
}

export interface ServeAddress {
  host: string;
  port: number;
  family: 4 | 6;
  /** e.g. http://127.0.0.1:4040/ */
  url: string;
}

const DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024;
const DEFAULT_MAX_HEADER_BYTES = 16 * 1024;
const READY_WAIT_MS = 5_000;
const OWN_METHODS = new Set(['GET', 'HEAD']);
const silent: ServeLogger = { debug() {}, info() {}, warn() {} };

/** A quarter of the soft open-file limit (each proxied connection takes two), within 64–16384. */
function defaultMaxConnections(): number {
  let limit = 1024;
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (m?.[1]) limit = Number(m[1]);
  } catch {
    // not Linux: keep the common default
  }
  return Math.max(64, Math.min(16_384, Math.floor(limit / 4)));
}

/** The address a --listen host name stands for (Node would bind the first one getaddrinfo returns), or EUSAGE. */
async function resolveListenHost(host: string): Promise<string> {
  const bare = host.replace(/^\[|\]$/g, '');
  if (isIP(bare) !== 0) return bare;
  try {
    return (await lookup(bare)).address;
  } catch (e) {
    throw new PortwatchError(
      'EUSAGE',
      `invalid --listen address '${host}': the name does not resolve (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
      {
        cause: e,
      },
    );
  }
}

/** Refuses a configuration that would expose the page (command lines) and the proxy to the network without a token. */
export function checkExposure(host: string, token: string | null | undefined): void {
  if (token !== null && token !== undefined) return;
  if (!isLoopbackHost(host)) {
    throw new PortwatchError(
      'EUSAGE',
      `refusing to listen on ${host} without a token: the page shows command lines and the proxy reaches local servers; ` +
        'give --token or --token-file (or listen on 127.0.0.1)',
    );
  }
}

export class ServeServer {
  readonly table: ListenerTable;
  readonly metrics: ServeMetrics;
  private readonly options: ServeServerOptions;
  private readonly token: string | null;
  private readonly allowHosts: string[];
  private readonly log: EventLog<LoggedEvent>;
  private readonly hub: SseHub;
  private readonly http: Server;
  private readonly agents: ProxyAgents;
  private readonly probes: ProbeQueue;
  private readonly probeSettings: Required<ProbeSettings> | null;
  private readonly logger: ServeLogger;
  private readonly servePorts = new Set<number>();
  private readonly ownNetns: string | null;
  /** False when the watched namespace (--netns-pid) cannot be compared with ours: then nothing is proxied or probed. */
  private readonly namespaceKnown: boolean;
  /** Set once the --netns-pid process is gone: its listeners were closed. */
  private targetGone: string | null = null;
  private readonly upgraded = new Set<Duplex>();
  private readonly auth: AuthContext;
  private readonly startedAt = new Date();
  private readonly api: ApiContext;
  private watcherInstance: PortWatcher | null = null;
  private eventsFile: EventsFile | null = null;
  private address: ServeAddress | null = null;
  private isReady = false;
  private readyWaiters: (() => void)[] = [];
  private lastError: string | null = null;
  private lastErrorAt = 0;
  private lastScanMs = 0;
  private closing: Promise<void> | null = null;
  private listening: Promise<ServeAddress> | null = null;

  constructor(options: ServeServerOptions = {}) {
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
    this.table = new ListenerTable({ label: options.label });
    this.log = new EventLog(options.history ?? 1000);
    this.metrics = createServeMetrics({
      listeners: () => this.table.values(),
      watching: () => (this.watcherInstance ? { source: this.watcherInstance.source, trigger: this.watcherInstance.trigger } : null),
      processMetrics: options.processMetrics ?? true,
    });
    this.hub = new SseHub({ heartbeatMs: options.heartbeatMs ?? 15_000, onCount: (n) => this.metrics.sseClients.set(n) });
    this.agents = createProxyAgents();
    const probe = options.probe ?? true;
    this.probeSettings =
      probe === false
        ? null
        : {
            timeoutMs: (probe === true ? undefined : probe.timeoutMs) ?? PROBE_TIMEOUT_MS,
            maxBytes: (probe === true ? undefined : probe.maxBytes) ?? PROBE_MAX_BYTES,
            concurrency: (probe === true ? undefined : probe.concurrency) ?? 4,
          };
    this.probes = new ProbeQueue(this.probeSettings?.concurrency ?? 1);
    this.http = createServer({ maxHeaderSize: options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES, noDelay: true });
    this.http.headersTimeout = 30_000;
    // No client may hold connections (and so file descriptors) for free: idle ones are closed,
    // and beyond the limit new ones are refused, so that serve keeps fds for its own work.
    this.http.timeout = options.idleTimeoutMs ?? 120_000;
    this.http.keepAliveTimeout = Math.min(5_000, this.http.timeout);
    this.http.maxConnections = options.maxConnections ?? defaultMaxConnections();
    this.http.on('request', (req, res) => this.onRequest(req, res));
    this.http.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head as Buffer));
    this.api = {
      table: this.table,
      log: this.log,
      hub: this.hub,
      metrics: this.metrics,
      hostname: osHostname(),
      whenReady: () => this.waitReady(READY_WAIT_MS),
      health: () => this.health(),
    };
  }

  /** The watcher (after listen()). */
  get watcher(): PortWatcher {
    if (!this.watcherInstance) throw new Error('the server is not listening yet');
    return this.watcherInstance;
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
    if (this.options.eventsFile) {
      this.eventsFile = await EventsFile.open(this.options.eventsFile, {
        maxBytes: this.options.eventsFileMaxBytes ?? DEFAULT_EVENTS_FILE_MAX_BYTES,
        onError: (e) => this.logger.warn(e.message),
      });
    }
    const named = this.options.host ?? DEFAULT_SERVE_HOST;
    const port = this.options.port ?? DEFAULT_SERVE_PORT;
    let host: string;
    try {
      host = await resolveListenHost(named);
      // What is bound decides, not the text: /etc/hosts may map `localhost` elsewhere.
      if (host !== named) checkExposure(`${host} (${named})`, this.token);
    } catch (e) {
      await this.eventsFile?.close();
      throw e;
    }
    try {
      await new Promise<void>((resolve, reject) => {
        this.http.once('error', reject);
        this.http.listen({ host, port }, () => {
          this.http.off('error', reject);
          resolve();
        });
      });
    } catch (e) {
      await this.eventsFile?.close();
      const err = e as NodeJS.ErrnoException;
      const why =
        err.code === 'EADDRINUSE' ? 'the address is in use' : err.code === 'EADDRNOTAVAIL' ? 'no such local address' : err.message;
      throw new PortwatchError('EUSAGE', `cannot listen on ${urlHost(host)}:${port}: ${why}`, { cause: e });
    }
    const bound = this.http.address() as AddressInfo;
    if (this.token === null && !isLoopbackHost(bound.address)) {
      await new Promise<void>((resolve) => this.http.close(() => resolve()));
      await this.eventsFile?.close();
      checkExposure(bound.address, null);
    }
    this.servePorts.add(bound.port);
    const family = bound.family === 'IPv6' ? 6 : 4;
    this.address = { host: bound.address, port: bound.port, family, url: `http://${urlHost(bound.address)}:${bound.port}/` };
    this.startWatching();
    return this.address;
  }

  /** Resolves once the first scan is done. */
  ready(): Promise<void> {
    return this.isReady ? Promise.resolve() : new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  /** Ends event streams, stops accepting, closes the watcher, flushes the events file. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const closed = this.http.listening ? new Promise<void>((resolve) => this.http.close(() => resolve())) : Promise.resolve();
    this.hub.close();
    for (const s of this.upgraded) s.destroy();
    this.upgraded.clear();
    this.http.closeIdleConnections();
    const grace = setTimeout(() => this.http.closeAllConnections(), this.options.shutdownGraceMs ?? 1_000);
    this.probes.close();
    await this.watcherInstance?.close();
    await closed;
    clearTimeout(grace);
    this.agents.http.destroy();
    this.agents.https.destroy();
    await this.eventsFile?.close();
    for (const w of this.readyWaiters.splice(0)) w();
  }

  // ---- the watcher ---------------------------------------------------------------------

  /** portwatch's own listening socket(s): not listed, not probed, never proxied to. */
  private isOwn(l: Listener): boolean {
    return (
      l.protocol === 'tcp' &&
      this.servePorts.has(l.port) &&
      (l.process === null || l.process.pid === process.pid) &&
      (this.ownNetns === null || l.netns === null || l.netns === this.ownNetns)
    );
  }

  private startWatching(): void {
    const userFilter = this.options.filter;
    const watcher = watch({
      ...this.options.watchOptions,
      filter: (l) => !this.isOwn(l) && (userFilter ? userFilter(l) : true),
    });
    this.watcherInstance = watcher;
    watcher.on('ready', (initial) => {
      this.table.reset(initial, new Date().toISOString());
      for (const l of initial) this.scheduleProbe(l);
      this.isReady = true;
      for (const w of this.readyWaiters.splice(0)) w();
    });
    watcher.on('close', (e) => this.onPortEvent(e));
    watcher.on('open', (e) => this.onPortEvent(e));
    watcher.on('scan', (s) => {
      this.metrics.scanDuration.observe(s.durationMs / 1000);
      this.lastScanMs = Date.now();
    });
    watcher.on('error', (err) => {
      if ((err as PortwatchError).code === 'ENOPROCESS') this.onTargetGone(err.message);
      this.metrics.scanErrors.inc();
      this.lastError = err.message;
      this.lastErrorAt = Date.now();
      this.logger.warn(`scan failed, retrying: ${err.message}`);
    });
  }

  /**
   * The --netns-pid process exited: its namespace can no longer be read, so its listeners
   * are closed (with events, so pages and event consumers know) and health says why.
   */
  private onTargetGone(message: string): void {
    if (this.targetGone !== null) return;
    this.targetGone = message;
    const time = new Date().toISOString();
    const open = Array.from(this.table.values());
    this.logger.warn(`${message}: closing its ${open.length} listener(s)`);
    for (const listener of open) this.onPortEvent({ type: 'close', time, listener });
  }

  private onPortEvent(event: PortEvent): void {
    const key = listenerKey(event.listener);
    this.table.apply(event);
    const json = this.table.eventJson(event);
    if (event.type === 'open') this.scheduleProbe(event.listener);
    else this.probes.cancel(key);
    if (this.options.announce && !this.options.announce(event.listener)) {
      this.hub.broadcast(silentMessage(json));
      return;
    }
    const entry = this.log.append({ json, sse: '' });
    entry.data.sse = eventMessage(entry.id, json);
    this.metrics.events.inc({ type: event.type });
    this.hub.broadcast(entry.data.sse);
    this.eventsFile?.append(json);
  }

  private scheduleProbe(l: Listener): void {
    const settings = this.probeSettings;
    if (!settings || !shouldProbe(l) || this.isOwn(l)) return;
    if (!this.namespaceKnown || (this.ownNetns !== null && l.netns !== null && l.netns !== this.ownNetns)) return; // not reachable from here
    const host = connectAddress(l);
    if (host === null) return;
    const key = listenerKey(l);
    this.probes.add(key, async (signal) => {
      const info = await probeHttp({ host, port: l.port }, { timeoutMs: settings.timeoutMs, maxBytes: settings.maxBytes, signal });
      if (signal.aborted) return;
      this.metrics.probes.inc({ result: info.http ?? 'none' });
      const view = this.table.setHttp(key, info);
      if (view && (info.http !== null || info.title !== null)) this.hub.broadcast(updateMessage(view));
    });
  }

  private waitReady(timeoutMs: number): Promise<boolean> {
    if (this.isReady) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.readyWaiters.push(() => {
        clearTimeout(timer);
        resolve(this.isReady);
      });
    });
  }

  private health(): HealthReport {
    const failing = this.lastErrorAt > this.lastScanMs || this.targetGone !== null;
    return {
      status: !this.isReady ? 'starting' : failing ? 'degraded' : 'ok',
      source: this.watcherInstance?.source ?? null,
      trigger: this.watcherInstance?.trigger ?? null,
      triggerFallback: this.watcherInstance?.triggerFallback ?? null,
      listeners: this.table.size,
      sseClients: this.hub.size,
      lastEventId: this.log.lastId,
      startedAt: this.startedAt.toISOString(),
      uptimeSeconds: Math.round((Date.now() - this.startedAt.getTime()) / 1000),
      lastScanAt: this.lastScanMs === 0 ? null : new Date(this.lastScanMs).toISOString(),
      lastError: this.targetGone ?? (failing ? this.lastError : null),
    };
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
    const target = to.target;
    const proxied = proxyPathRoute(target.path);
    if (!OWN_METHODS.has(req.method ?? '')) {
      return sendError(req, res, 405, `${req.method} is not allowed here`, { headers: { Allow: 'GET, HEAD' } });
    }
    if (Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined) {
      return sendError(req, res, 413, 'portwatch accepts no request bodies', { headers: { Connection: 'close' } });
    }
    if (proxied?.kind === 'bad-port') return sendError(req, res, 400, `'${proxied.text}' is not a TCP port number`);
    const query = new URLSearchParams(target.search);
    switch (target.path) {
      case '/':
        return this.serveAsset(req, res, INDEX_HTML, { 'Content-Security-Policy': PAGE_CSP });
      case '/assets/app.js':
        return this.serveAsset(req, res, APP_JS);
      case '/assets/app.css':
        return this.serveAsset(req, res, APP_CSS);
      case '/api/listeners':
        return handleListeners(req, res, this.api);
      case '/api/events':
        return handleEvents(req, res, query, this.api);
      case '/healthz':
        return handleHealth(req, res, this.api);
      case '/metrics':
        return handleMetrics(req, res, this.api);
    }
    const open = /^\/open\/(\d{1,5})$/.exec(target.path);
    if (open?.[1]) return this.openPort(req, res, Number(open[1]));
    sendError(req, res, 404, `nothing here: ${target.path}`, { hint: 'The page is at /, the API under /api/.' });
  }

  private serveAsset(req: IncomingMessage, res: ServerResponse, asset: Asset, headers: Record<string, string> = {}): void {
    const common = { ...SECURITY_HEADERS, ETag: asset.etag, 'Cache-Control': 'no-cache', ...headers };
    if (req.headers['if-none-match'] === asset.etag) {
      res.writeHead(304, common);
      res.end();
      return;
    }
    res.writeHead(200, { ...common, 'Content-Type': asset.contentType, 'Content-Length': asset.body.length });
    res.end(asset.body);
  }

  private openPort(req: IncomingMessage, res: ServerResponse, port: number): void {
    if (port < 1 || port > 65535) return sendError(req, res, 400, `${port} is not a TCP port number`);
    const parsed = parseHostHeader(req.headers.host);
    if (!parsed) return sendError(req, res, 400, 'no Host header');
    const where = openLocation(parsed, port, this.allowHosts);
    let location = where.url;
    if (this.token !== null && where.subdomain !== null) {
      location = `${where.url.replace(/\/$/, '')}${AUTH_PATH}?ticket=${createTicket(this.token, where.subdomain)}`;
    }
    res.writeHead(302, { ...SECURITY_HEADERS, Location: location, 'Cache-Control': 'no-store' });
    res.end();
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
    if (decision.kind === 'redirect' || decision.to.kind !== 'proxy') {
      return rejectUpgrade(socket, 404, `no WebSocket endpoint at ${splitPath(req.url)}`);
    }
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
}

function authRequest(req: IncomingMessage, upgrade: boolean): AuthRequest {
  return { method: req.method, url: req.url, headers: req.headers, rawHeaders: req.rawHeaders, upgrade };
}

function splitPath(url: string | undefined): string {
  return (url ?? '').split('?')[0] ?? '';
}

/** A `portwatch serve` server; call listen() to start it and close() to stop it. */
export function createServeServer(options: ServeServerOptions = {}): ServeServer {
  return new ServeServer(options);
}
