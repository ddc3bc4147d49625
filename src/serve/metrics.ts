/**
 * Prometheus metrics of one `portwatch serve`, in a registry of its own (never prom-client's
 * global one, so several servers, or a host program's own metrics, do not collide).
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Listener, Protocol } from '../listener.js';
import { registerProcessMetrics } from './process-metrics.js';

export interface ServeMetrics {
  registry: Registry;
  events: Counter<'type'>;
  scanDuration: Histogram;
  scanErrors: Counter;
  sseClients: Gauge;
  proxyRequests: Counter<'status'>;
  probes: Counter<'result'>;
}

export interface MetricsSources {
  /** The listeners now, read at scrape time. */
  listeners: () => Iterable<Listener>;
  /** The trigger in use and the source, read at scrape time (null before the watcher starts). */
  watching?: () => { trigger: string; source: string } | null;
  /** Also export Node.js process metrics (CPU, memory, fds, event loop lag) as process_* and nodejs_*, read only when scraped. */
  processMetrics?: boolean;
}

/** The labels of portwatch_listener_info: a container by name (else its short id); '' when unknown. */
export function listenerInfoLabels(
  l: Listener,
): Record<'netns' | 'container' | 'pod' | 'namespace' | 'protocol' | 'address' | 'port' | 'process', string> {
  const c = l.container ?? null;
  return {
    netns: l.netns ?? '',
    container: c === null ? '' : (c.name ?? c.id.slice(0, 12)),
    pod: c?.pod ?? '',
    namespace: c?.namespace ?? '',
    protocol: l.family === 6 ? `${l.protocol}6` : l.protocol,
    address: l.address,
    port: String(l.port),
    process: l.process?.name ?? '',
  };
}

export function createServeMetrics(sources: MetricsSources): ServeMetrics {
  const registry = new Registry();
  new Gauge({
    name: 'portwatch_listeners',
    help: 'Listening sockets now, by protocol.',
    labelNames: ['protocol'],
    registers: [registry],
    collect() {
      const counts: Record<Protocol, number> = { tcp: 0, udp: 0 };
      for (const l of sources.listeners()) counts[l.protocol]++;
      this.set({ protocol: 'tcp' }, counts.tcp);
      this.set({ protocol: 'udp' }, counts.udp);
    },
  });
  new Gauge({
    name: 'portwatch_listener_info',
    help: 'One series per listening socket (always 1): where it lives and who owns it. Empty labels are unknown.',
    labelNames: ['netns', 'container', 'pod', 'namespace', 'protocol', 'address', 'port', 'process'],
    registers: [registry],
    collect() {
      this.reset();
      for (const l of sources.listeners()) this.set(listenerInfoLabels(l), 1);
    },
  });
  new Gauge({
    name: 'portwatch_namespace_listeners',
    help: 'Listening sockets per network namespace (and its container, when known).',
    labelNames: ['netns', 'container'],
    registers: [registry],
    collect() {
      this.reset();
      const counts = new Map<string, { netns: string; container: string; n: number }>();
      for (const l of sources.listeners()) {
        const labels = listenerInfoLabels(l);
        const key = `${labels.netns}|${labels.container}`;
        const entry = counts.get(key) ?? { netns: labels.netns, container: labels.container, n: 0 };
        entry.n++;
        counts.set(key, entry);
      }
      for (const { netns, container, n } of counts.values()) this.set({ netns, container }, n);
    },
  });
  const events = new Counter({
    name: 'portwatch_events_total',
    help: 'Port events seen, by type (open, close).',
    labelNames: ['type'],
    registers: [registry],
  });
  events.inc({ type: 'open' }, 0);
  events.inc({ type: 'close' }, 0);
  const scanDuration = new Histogram({
    name: 'portwatch_scan_duration_seconds',
    help: 'Wall time of each successful scan of the socket tables.',
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const scanErrors = new Counter({
    name: 'portwatch_scan_errors_total',
    help: 'Scans that failed (retried with back-off).',
    registers: [registry],
  });
  const sseClients = new Gauge({ name: 'portwatch_sse_clients', help: 'Connected Server-Sent Events clients.', registers: [registry] });
  const proxyRequests = new Counter({
    name: 'portwatch_proxy_requests_total',
    help: 'Requests through the proxy, by response status (101 for a WebSocket upgrade).',
    labelNames: ['status'],
    registers: [registry],
  });
  const probes = new Counter({
    name: 'portwatch_http_probes_total',
    help: 'HTTP detection probes, by result (http, https, none).',
    labelNames: ['result'],
    registers: [registry],
  });
  new Gauge({
    name: 'portwatch_watch_info',
    help: 'How serve watches: the socket source and the trigger that decides when to scan (always 1).',
    labelNames: ['source', 'trigger'],
    registers: [registry],
    collect() {
      this.reset();
      const w = sources.watching?.();
      if (w) this.set({ source: w.source, trigger: w.trigger }, 1);
    },
  });
  if (sources.processMetrics ?? true) registerProcessMetrics(registry);
  return { registry, events, scanDuration, scanErrors, sseClients, proxyRequests, probes };
}
