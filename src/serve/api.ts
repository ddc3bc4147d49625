/**
 * The JSON and event-stream endpoints: /api/listeners, /api/events (Server-Sent Events, or
 * JSON for pollers with ?since=ID), /healthz and /metrics.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseEventId, type EventLog, type LogEntry } from './event-log.js';
import type { EventJson, ListenerTable, ListenerView } from './listener-table.js';
import type { ServeMetrics } from './metrics.js';
import { SECURITY_HEADERS, sendError, sendJson } from './responses.js';
import { formatSseComment, formatSseMessage, type SseHub } from './sse.js';

/** What the log keeps per event: its JSON, and its SSE message formatted once for every client. */
export interface LoggedEvent {
  json: EventJson;
  sse: string;
}

export interface HealthReport {
  status: 'starting' | 'ok' | 'degraded';
  source: string | null;
  /** 'tracefs' or 'poll'; null before the watcher starts. */
  trigger: string | null;
  /** Why the watcher polls although tracefs was asked for or `auto` (e.g. not root); null otherwise. */
  triggerFallback: string | null;
  /**
   * Polling from a thread of the addon: its interval, looks and changes seen so far, the CPU
   * of its last look (µs), and the wakes its socket counts answered without a look (a table
   * too big to look at every 100 ms within budget). It looks by itself and the watcher scans on what it finds, so
   * `lastScanAt` may be a minute old (or `maxInterval`, if longer) while all is well (`looks` shows it at work). Null otherwise.
   */
  poller: { intervalMs: number; looks: number; changes: number; lastLookUs: number; counted: number } | null;
  listeners: number;
  sseClients: number;
  lastEventId: number;
  startedAt: string;
  uptimeSeconds: number;
  lastScanAt: string | null;
  lastError: string | null;
}

export interface ApiContext {
  table: ListenerTable;
  log: EventLog<LoggedEvent>;
  hub: SseHub;
  metrics: ServeMetrics;
  hostname: string;
  /** Resolves true once the first scan is done, false if it is not done within a few seconds. */
  whenReady(): Promise<boolean>;
  health(): HealthReport;
  /**
   * Where the page's "open" links work (/open/PORT): `{ netns }` for TCP listeners of that
   * network namespace (`netns` null: unknown, not compared); null when none can be opened
   * (--no-proxy, or a watched namespace serve cannot compare with its own).
   */
  open?: { netns: string | null } | null;
}

/** How many recent events a snapshot carries for the page's feed. */
export const SNAPSHOT_EVENTS = 100;
/** Clients are told to reconnect after this long. */
export const SSE_RETRY_MS = 2_000;

/** The SSE message of one event: `id:` its log id, data its PortEvent JSON. */
export function eventMessage(id: number, json: EventJson): string {
  return formatSseMessage({ id, data: JSON.stringify(json) });
}

/** The event of a silent listener: named, so that generic consumers (onmessage) never see it. */
export function silentMessage(json: EventJson): string {
  return formatSseMessage({ event: 'silent', data: JSON.stringify(json) });
}

export function updateMessage(view: ListenerView): string {
  return formatSseMessage({ event: 'update', data: JSON.stringify(view) });
}

function pollEntry(e: LogEntry<LoggedEvent>): { id: number } & EventJson {
  return { id: e.id, ...e.data.json };
}

async function ready(ctx: ApiContext, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  if (await ctx.whenReady()) return true;
  sendError(req, res, 503, 'the first scan of the socket tables has not finished yet; try again shortly', {
    headers: { 'Retry-After': '1' },
  });
  return false;
}

export async function handleListeners(req: IncomingMessage, res: ServerResponse, ctx: ApiContext): Promise<void> {
  if (!(await ready(ctx, req, res))) return;
  sendJson(res, 200, ctx.table.list(), { 'Portwatch-Last-Event-Id': String(ctx.log.lastId) });
}

/**
 * GET /api/events: an event stream, resumable with Last-Event-ID (or ?since=ID);
 * ?snapshot=1 starts it with the current listeners. With ?since=ID and no
 * `Accept: text/event-stream`, the events after ID as JSON instead.
 */
export async function handleEvents(req: IncomingMessage, res: ServerResponse, query: URLSearchParams, ctx: ApiContext): Promise<void> {
  const sinceText = query.get('since');
  const wantsStream = /\btext\/event-stream\b/.test(req.headers.accept ?? '') || sinceText === null;
  if (!wantsStream) {
    const since = parseEventId(sinceText);
    if (since === null) return sendError(req, res, 400, `invalid since '${sinceText}': use an event id (0 for everything kept)`);
    const { entries, complete } = ctx.log.since(since);
    return sendJson(res, 200, { lastId: ctx.log.lastId, oldestId: ctx.log.oldestId, complete, events: entries.map(pollEntry) });
  }
  const header = req.headers['last-event-id'];
  const resumeText = (Array.isArray(header) ? header[0] : header) ?? sinceText;
  const resumeFrom = parseEventId(resumeText);
  if (resumeText !== null && resumeText !== undefined && resumeText.trim() !== '' && resumeFrom === null) {
    return sendError(req, res, 400, `invalid Last-Event-ID '${resumeText}': use an event id`);
  }
  const snapshot = query.get('snapshot') === '1';
  if (snapshot && !(await ready(ctx, req, res))) return;
  // From here to accept() nothing awaits, so no event can slip between the replay and the live stream.
  let initial = `${formatSseComment('portwatch event stream')}retry: ${SSE_RETRY_MS}\n\n`;
  if (snapshot) {
    const data = {
      lastEventId: ctx.log.lastId,
      hostname: ctx.hostname,
      open: ctx.open ?? null,
      listeners: ctx.table.list(),
      events: ctx.log.recent(SNAPSHOT_EVENTS).map(pollEntry),
    };
    initial += formatSseMessage({ id: ctx.log.lastId, event: 'snapshot', data: JSON.stringify(data) });
  } else if (resumeFrom !== null) {
    const { entries, complete } = ctx.log.since(resumeFrom);
    if (!complete) {
      const gap = { requested: resumeFrom, oldestId: ctx.log.oldestId, lastId: ctx.log.lastId };
      initial += formatSseMessage({ event: 'gap', data: JSON.stringify(gap) });
    }
    for (const e of entries) initial += e.data.sse;
  }
  ctx.hub.accept(req, res, initial);
}

export function handleHealth(_req: IncomingMessage, res: ServerResponse, ctx: ApiContext): void {
  const report = ctx.health();
  sendJson(res, report.status === 'starting' ? 503 : 200, report);
}

export async function handleMetrics(_req: IncomingMessage, res: ServerResponse, ctx: ApiContext): Promise<void> {
  const text = await ctx.metrics.registry.metrics();
  res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': ctx.metrics.registry.contentType, 'Cache-Control': 'no-store' });
  res.end(text);
}
