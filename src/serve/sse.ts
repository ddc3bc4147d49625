/**
 * Server-Sent Events: the wire format (pure) and the hub that fans one formatted message
 * out to every connected client. A client too slow to keep up (more than
 * `maxBufferedBytes` waiting to be written) is dropped; it reconnects with Last-Event-ID
 * and gets what it missed from the event log, so memory stays bounded.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface SseMessage {
  id?: number | string;
  event?: string;
  data: string;
  retry?: number;
}

function noBreaks(field: string, value: string): string {
  if (/[\r\n]/.test(value)) throw new Error(`SSE ${field} must not contain line breaks`);
  return value;
}

/** One message: `id:`, `event:`, `retry:` and one `data:` line per line of data, then a blank line. */
export function formatSseMessage(m: SseMessage): string {
  let out = '';
  if (m.retry !== undefined) out += `retry: ${Math.max(0, Math.floor(m.retry))}\n`;
  if (m.id !== undefined) out += `id: ${noBreaks('id', String(m.id))}\n`;
  if (m.event !== undefined) out += `event: ${noBreaks('event', m.event)}\n`;
  for (const line of m.data.split(/\r\n|\r|\n/)) out += `data: ${line}\n`;
  return `${out}\n`;
}

/** A comment line: ignored by clients, keeps proxies from closing an idle stream. */
export function formatSseComment(text: string): string {
  return text
    .split(/\r\n|\r|\n/)
    .map((l) => `: ${l}\n`)
    .join('')
    .concat('\n');
}

export const SSE_HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-store',
  Connection: 'keep-alive',
  // nginx and similar buffer responses unless told not to.
  'X-Accel-Buffering': 'no',
} as const;

export interface SseHubOptions {
  /** Comment sent to every client this often (default 15 s). */
  heartbeatMs?: number;
  /** A client with more than this many bytes not yet written is dropped (default 1 MiB). */
  maxBufferedBytes?: number;
  /** Called whenever the number of clients changes. */
  onCount?: (clients: number) => void;
}

export class SseHub {
  private readonly clients = new Set<ServerResponse>();
  private readonly heartbeatMs: number;
  private readonly maxBufferedBytes: number;
  private readonly onCount: (n: number) => void;
  private heartbeat: NodeJS.Timeout | null = null;
  private closed = false;
  /** Clients dropped because they could not keep up. */
  dropped = 0;

  constructor(options: SseHubOptions = {}) {
    this.heartbeatMs = options.heartbeatMs ?? 15_000;
    this.maxBufferedBytes = options.maxBufferedBytes ?? 1024 * 1024;
    this.onCount = options.onCount ?? (() => {});
  }

  get size(): number {
    return this.clients.size;
  }

  /**
   * Starts an event stream on `res`: headers, then `initial` (replayed events, a snapshot),
   * then every broadcast until the client goes away or the hub closes.
   */
  accept(req: IncomingMessage, res: ServerResponse, initial: string): void {
    if (this.closed) {
      res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8' }).end('portwatch is shutting down\n');
      return;
    }
    req.socket.setNoDelay(true);
    req.socket.setKeepAlive(true, 30_000);
    res.writeHead(200, SSE_HEADERS);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    res.write(initial);
    this.clients.add(res);
    res.once('close', () => {
      if (this.clients.delete(res)) this.changed();
    });
    this.changed();
  }

  /** Writes one already formatted message to every client. */
  broadcast(chunk: string): void {
    let dropped = 0;
    for (const res of this.clients) {
      if (res.writableLength > this.maxBufferedBytes) {
        dropped++;
        this.clients.delete(res);
        res.destroy();
        continue;
      }
      res.write(chunk);
    }
    if (dropped > 0) {
      this.dropped += dropped;
      this.changed();
    }
  }

  /** Ends every stream; new ones are refused from now on. */
  close(): void {
    this.closed = true;
    for (const res of this.clients) res.end();
    this.clients.clear();
    this.changed();
  }

  private changed(): void {
    const n = this.clients.size;
    if (n > 0 && this.heartbeat === null && !this.closed) {
      this.heartbeat = setInterval(() => this.broadcast(formatSseComment('heartbeat')), this.heartbeatMs);
      this.heartbeat.unref();
    } else if ((n === 0 || this.closed) && this.heartbeat !== null) {
      clearInterval(this.heartbeat);
      this.heartbeat = null;
    }
    this.onCount(n);
  }
}
