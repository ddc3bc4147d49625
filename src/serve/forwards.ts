/**
 * Forwards in serve (`portwatch forward --serve`): `GET /api/forwards`, and the forward
 * events on every event stream as named events, so that the page (and anything else that
 * reads /api/events) learns where each target port is reachable on this host:
 *
 *   event: forwards        every forward now; starts every stream (also after a reconnect)
 *   event: forward         a forward started (a ForwardView)
 *   event: forward-update  what the HTTP probe through the forward found (a ForwardView)
 *   event: unforward       a forward stopped
 *   event: forward-error   a forward could not be made or failed
 *
 * They carry no `id:`, so Last-Event-ID, ?since= and the event log stay PortEvents only;
 * consumers that read unnamed messages (onmessage) never see them. The target's listeners
 * are in another network namespace, out of serve's reach: the probe goes through the
 * forward instead (its host address), which is how the page knows what to link.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ForwardErrorEvent, ForwardView, UnforwardEvent } from '../forward/events.js';
import { listenerKey, type Listener } from '../listener.js';
import { probeHttp, shouldProbe } from './http-probe.js';
import type { HttpInfo } from './listener-table.js';
import { ProbeQueue } from './probe-queue.js';
import { sendJson } from './responses.js';
import { formatSseMessage, SseHub, type SseHubOptions } from './sse.js';

/** What serve needs of the forwards (a ForwardRegistry). */
export interface ForwardSource {
  list(): ForwardView[];
  /** The forward of one target port now. */
  get(remotePort: number): ForwardView | undefined;
  on(event: 'added', listener: (view: ForwardView) => void): unknown;
  on(event: 'removed', listener: (event: UnforwardEvent) => void): unknown;
  on(event: 'failed', listener: (event: ForwardErrorEvent) => void): unknown;
}

export interface ServeForwardsOptions {
  broadcast(message: string): void;
  /** Probe each forward for HTTP through its host address; null: never. */
  probe: { timeoutMs: number; maxBytes: number } | null;
}

/** Where on this host a connection to the forward goes (a wildcard bind is reached on loopback). */
function dialHost(address: string): string {
  return address === '0.0.0.0' ? '127.0.0.1' : address === '::' ? '::1' : address;
}

const keyOf = (v: Pick<ForwardView, 'remote' | 'local'>): string => `${v.remote.port}|${v.local[0]?.port ?? 0}`;

export class ServeForwards {
  private readonly found = new Map<string, HttpInfo>();
  /** Target listeners that opened on a port forwarded ahead of time (forwardPorts). */
  private readonly arrived = new Map<number, Listener>();
  private readonly probes = new ProbeQueue(2);

  constructor(
    private readonly source: ForwardSource,
    private readonly options: ServeForwardsOptions,
  ) {
    source.on('added', (v) => {
      this.send('forward', { type: 'forward', ...this.view(v) });
      this.probe(v, v.listener);
    });
    source.on('removed', (e) => {
      const key = keyOf(e);
      this.probes.cancel(key);
      this.found.delete(key);
      this.arrived.delete(e.remote.port);
      this.send('unforward', e);
    });
    source.on('failed', (e) => this.send('forward-error', e));
  }

  /** Every forward now, as /api/forwards shows it. */
  list(): ForwardView[] {
    return this.source.list().map((v) => this.view(v));
  }

  /** The first message of every event stream: the forwards now. */
  prelude(): string {
    return formatSseMessage({ event: 'forwards', data: JSON.stringify(this.list()) });
  }

  /** A listener opened or closed in the target (from the watcher serve reads). */
  listenerChanged(type: 'open' | 'close', l: Listener): void {
    if (l.protocol !== 'tcp') return;
    const v = this.source.get(l.port);
    if (v === undefined || v.listener !== null) return;
    if (type === 'close') {
      const had = this.arrived.get(l.port);
      if (had !== undefined && listenerKey(had) === listenerKey(l) && this.arrived.delete(l.port)) this.update(v);
      return;
    }
    if (!this.arrived.has(l.port)) {
      this.arrived.set(l.port, l);
      this.update(v);
    }
    this.probe(v, l);
  }

  handle(_req: IncomingMessage, res: ServerResponse): void {
    sendJson(res, 200, this.list());
  }

  close(): void {
    this.probes.close();
  }

  private view(v: ForwardView): ForwardView {
    const listener = v.listener ?? this.arrived.get(v.remote.port) ?? null;
    const info = this.found.get(keyOf(v));
    const scheme = info?.http ?? null;
    return {
      ...v,
      listener,
      waiting: listener === null,
      url: scheme === null ? v.url : v.url.replace(/^https?:/, `${scheme}:`),
      http: scheme,
      title: info?.title ?? null,
    };
  }

  private update(v: ForwardView): void {
    this.send('forward-update', this.view(v));
  }

  private probe(v: ForwardView, l: Listener | null): void {
    const settings = this.options.probe;
    const local = v.local[0];
    const key = keyOf(v);
    if (settings === null || local === undefined || l === null || !shouldProbe(l) || this.found.has(key)) return;
    this.probes.add(key, async (signal) => {
      const info = await probeHttp({ host: dialHost(local.address), port: local.port }, { ...settings, signal });
      const now = this.source.get(v.remote.port);
      if (signal.aborted || now === undefined || keyOf(now) !== key) return;
      this.found.set(key, info);
      if (info.http !== null || info.title !== null) this.update(now);
    });
  }

  private send(event: string, data: unknown): void {
    this.options.broadcast(formatSseMessage({ event, data: JSON.stringify(data) }));
  }
}

/** An SseHub whose every stream starts with `prelude()` after what the endpoint sends first. */
export class PreludeHub extends SseHub {
  constructor(
    options: SseHubOptions,
    private readonly prelude: () => string,
  ) {
    super(options);
  }

  override accept(req: IncomingMessage, res: ServerResponse, initial: string): void {
    super.accept(req, res, initial + this.prelude());
  }
}
