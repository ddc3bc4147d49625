/**
 * What serve knows and tells, fed by one watcher: the listener table, the event log, the
 * event streams, the events file, the HTTP probes, the metrics and the health report. The
 * HTTP side (server.ts, dispatch.ts) only reads it.
 */
import type { ChangeWatchStats } from '../sources/source.js';
import { hostname as osHostname } from 'node:os';
import type { PortwatchError } from '../errors.js';
import { listenerKey, type Listener, type PortEvent } from '../listener.js';
import { watchHost } from '../engine/host-watcher.js';
import type { ScanEvent, UpdateEvent } from '../watch/watch-types.js';
import { watch } from '../watch/watcher.js';

/** What serve needs of its watcher: a PortWatcher, or host mode's HostWatcher (the same events). */
export interface ServeWatcher {
  readonly source: string;
  readonly trigger: string;
  readonly triggerFallback: string | null;
  /** A poller thread's looks, interval and last cost (PortWatcher); absent or null otherwise. */
  readonly triggerStats?: ChangeWatchStats | null;
  close(): Promise<void>;
  on(event: 'ready', listener: (listeners: Listener[]) => void): unknown;
  on(event: 'open' | 'close', listener: (event: PortEvent) => void): unknown;
  on(event: 'update', listener: (event: UpdateEvent) => void): unknown;
  on(event: 'scan', listener: (scan: ScanEvent) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
}
import { eventMessage, silentMessage, updateMessage, type ApiContext, type HealthReport, type LoggedEvent } from './api.js';
import { EventLog } from './event-log.js';
import { EventsFile, DEFAULT_EVENTS_FILE_MAX_BYTES } from './events-file.js';
import { PROBE_MAX_BYTES, PROBE_TIMEOUT_MS, probeHttp, shouldProbe } from './http-probe.js';
import { ListenerTable } from './listener-table.js';
import { createServeMetrics, type ServeMetrics } from './metrics.js';
import { ProbeQueue } from './probe-queue.js';
import { connectAddress } from './proxy-target.js';
import type { ProbeSettings, ServeLogger, ServeServerOptions } from './serve-options.js';
import { SseHub } from './sse.js';
import { filteredWatcher } from './filtered-watcher.js';
import { PreludeHub } from './forwards.js';

const READY_WAIT_MS = 5_000;

export interface LiveStateHooks {
  /** portwatch's own listening socket(s): not listed, not probed. */
  isOwn(l: Listener): boolean;
  /** Whether serve can connect to the listener (its namespace is ours, or comparable). */
  reachable(l: Listener): boolean;
  /** What the page is told about where /open/PORT works (ApiContext.open). */
  open?: { netns: string | null } | null;
  logger: ServeLogger;
  /** A watcher someone else runs (forward --serve: the target's); serve's filter is applied to it. */
  watcher?: ServeWatcher;
  /** Appended to the start of every event stream (forward --serve: the forwards now). */
  prelude?: () => string;
}

export class LiveState {
  readonly table: ListenerTable;
  readonly log: EventLog<LoggedEvent>;
  readonly hub: SseHub;
  readonly metrics: ServeMetrics;
  readonly api: ApiContext;
  private readonly probes: ProbeQueue;
  private readonly probeSettings: Required<ProbeSettings> | null;
  private readonly startedAt = new Date();
  private watcherInstance: ServeWatcher | null = null;
  private eventsFile: EventsFile | null = null;
  private isReady = false;
  private readyWaiters: (() => void)[] = [];
  private lastError: string | null = null;
  private lastErrorAt = 0;
  private lastScanMs = 0;
  /** Set once the --netns-pid process is gone: its listeners were closed. */
  private targetGone: string | null = null;

  constructor(
    private readonly options: ServeServerOptions,
    private readonly hooks: LiveStateHooks,
  ) {
    this.table = new ListenerTable({ label: options.label });
    this.log = new EventLog(options.history ?? 1000);
    this.metrics = createServeMetrics({
      listeners: () => this.table.values(),
      watching: () => (this.watcherInstance ? { source: this.watcherInstance.source, trigger: this.watcherInstance.trigger } : null),
      processMetrics: options.processMetrics ?? true,
    });
    const hubOptions = { heartbeatMs: options.heartbeatMs ?? 15_000, onCount: (n: number) => this.metrics.sseClients.set(n) };
    this.hub = hooks.prelude ? new PreludeHub(hubOptions, hooks.prelude) : new SseHub(hubOptions);
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
    this.api = {
      table: this.table,
      log: this.log,
      hub: this.hub,
      metrics: this.metrics,
      hostname: osHostname(),
      open: hooks.open ?? null,
      whenReady: () => this.waitReady(READY_WAIT_MS),
      health: () => this.health(),
    };
  }

  get watcher(): ServeWatcher | null {
    return this.watcherInstance;
  }

  /** Opens the events file (before listening, so that a bad path fails `listen()`). */
  async openEventsFile(): Promise<void> {
    if (!this.options.eventsFile) return;
    this.eventsFile = await EventsFile.open(this.options.eventsFile, {
      maxBytes: this.options.eventsFileMaxBytes ?? DEFAULT_EVENTS_FILE_MAX_BYTES,
      onError: (e) => this.hooks.logger.warn(e.message),
    });
  }

  start(): void {
    const userFilter = this.options.filter;
    const filter = (l: Listener): boolean => !this.hooks.isOwn(l) && (userFilter ? userFilter(l) : true);
    const w = this.options.watchOptions ?? {};
    const watcher: ServeWatcher = this.hooks.watcher
      ? filteredWatcher(this.hooks.watcher, filter)
      : this.options.allNamespaces
        ? watchHost({
            ...(w.source === 'sockdiag' || w.source === 'procfs' || w.source === 'auto' ? { source: w.source } : {}),
            ...(w.trigger === undefined ? {} : { trigger: w.trigger }),
            filter,
          })
        : watch({ ...w, filter });
    this.watcherInstance = watcher;
    watcher.on('ready', (initial) => {
      this.table.reset(initial, new Date().toISOString());
      for (const l of initial) this.scheduleProbe(l);
      this.isReady = true;
      for (const w of this.readyWaiters.splice(0)) w();
    });
    watcher.on('close', (e) => this.onPortEvent(e));
    watcher.on('open', (e) => this.onPortEvent(e));
    watcher.on('update', (e) => this.onUpdate(e));
    watcher.on('scan', (s) => {
      this.metrics.scanDuration.observe(s.durationMs / 1000);
      this.lastScanMs = Date.now();
    });
    watcher.on('error', (err) => {
      if ((err as PortwatchError).code === 'ENOPROCESS') this.onTargetGone(err.message);
      this.metrics.scanErrors.inc();
      this.lastError = err.message;
      this.lastErrorAt = Date.now();
      this.hooks.logger.warn(`scan failed, retrying: ${err.message}`);
    });
  }

  /** Resolves once the first scan is done (or the state is closed). */
  ready(): Promise<void> {
    return this.isReady ? Promise.resolve() : new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  /** Ends event streams and probes, closes the watcher, flushes the events file. */
  async close(): Promise<void> {
    this.hub.close();
    this.probes.close();
    await this.watcherInstance?.close();
  }

  /** After the HTTP side has stopped: the events file last, so that every event is in it. */
  async closeFiles(): Promise<void> {
    await this.eventsFile?.close();
    for (const w of this.readyWaiters.splice(0)) w();
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
    this.hooks.logger.warn(`${message}: closing its ${open.length} listener(s)`);
    for (const listener of open) this.onPortEvent({ type: 'close', time, listener });
  }

  /** A listener's owner (or container) found after it was announced: pages replace its row. */
  private onUpdate(event: UpdateEvent): void {
    const view = this.table.update(event.listener);
    if (view === null) return;
    if (this.options.announce && !this.options.announce(event.listener)) return;
    this.hub.broadcast(updateMessage(view));
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
    if (!settings || !shouldProbe(l) || this.hooks.isOwn(l) || !this.hooks.reachable(l)) return;
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

  health(): HealthReport {
    const failing = this.lastErrorAt > this.lastScanMs || this.targetGone !== null;
    const w = this.watcherInstance;
    return {
      status: !this.isReady ? 'starting' : failing ? 'degraded' : 'ok',
      source: w?.source ?? null,
      trigger: w?.trigger ?? null,
      triggerFallback: w?.triggerFallback ?? null,
      poller: pollerHealth(w?.triggerStats ?? null),
      listeners: this.table.size,
      sseClients: this.hub.size,
      lastEventId: this.log.lastId,
      startedAt: this.startedAt.toISOString(),
      uptimeSeconds: Math.round((Date.now() - this.startedAt.getTime()) / 1000),
      lastScanAt: this.lastScanMs === 0 ? null : new Date(this.lastScanMs).toISOString(),
      lastError: this.targetGone ?? (failing ? this.lastError : null),
    };
  }
}

/** What /healthz says of a poller thread: it looks by itself, so lastScanAt can be a minute (or maxInterval) old. */
function pollerHealth(stats: ChangeWatchStats | null): HealthReport['poller'] {
  if (stats?.running !== true) return null;
  const { intervalMs, looks, changes, lastLookUs, counted } = stats;
  return { intervalMs, looks, changes, lastLookUs, counted };
}
