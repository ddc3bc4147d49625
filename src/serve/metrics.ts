/**
 * Prometheus metrics of one `portwatch serve`, in a registry of its own (never prom-client's
 * global one, so several servers, or a host program's own metrics, do not collide).
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Protocol } from '../listener.js';
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
  /** Listener protocols now, read at scrape time. */
  listeners: () => Iterable<{ protocol: Protocol }>;
  /** The trigger in use and the source, read at scrape time (null before the watcher starts). */
  watching?: () => { trigger: string; source: string } | null;
  /** Also export Node.js process metrics (CPU, memory, fds, event loop lag) as process_* and nodejs_*, read only when scraped. */
  processMetrics?: boolean;
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
