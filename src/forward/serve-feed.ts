/**
 * What listens in the target, as a `portwatch serve` there tells it: its event stream
 * (/api/events, Server-Sent Events) read with plain node:http(s), so the host side needs
 * nothing but Node.
 *
 * Every connection, the first and each after a drop, starts with `?snapshot=1`: the
 * listeners now, then live events. After a reconnect the snapshot replaces what was known,
 * so forwards are restored exactly, also across a serve restart (whose event ids start
 * again, which would make a Last-Event-ID resume miss what changed). Drops reconnect with
 * back-off (250 ms doubling to 10 s, reset by a good connection); a refused token ends it.
 */
import { EventEmitter } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import type { Listener } from '../listener.js';

export interface ServeFeedOptions {
  base: URL;
  token: string | null;
  /** Longest wait between reconnects (ms). */
  maxBackoffMs?: number;
}

export interface ServeFeedEvents {
  /** Everything listening now (each connection starts with one). */
  snapshot: [Listener[]];
  open: [Listener];
  close: [Listener];
  /** The stream dropped; it reconnects by itself. */
  disconnected: [string];
  /** serve refused us for good (wrong token, not a portwatch serve): the feed has stopped. */
  fatal: [string];
}

const MAX_LINE = 16 * 1024 * 1024;

/** Splits an SSE byte stream into messages (event name, data), per the WHATWG rules this client needs. */
export class SseParser {
  private buffer = '';
  private event = 'message';
  private data: string[] = [];

  constructor(private readonly onMessage: (event: string, data: string) => void) {}

  push(chunk: string): void {
    this.buffer += chunk;
    if (this.buffer.length > MAX_LINE && !/[\r\n]/.test(this.buffer)) throw new Error('an event-stream line is too long');
    let at: number;
    while ((at = this.buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = this.buffer.slice(0, at);
      this.buffer = this.buffer.slice(at + (this.buffer.startsWith('\r\n', at) ? 2 : 1));
      this.line(line);
    }
  }

  private line(line: string): void {
    if (line === '') {
      if (this.data.length > 0) this.onMessage(this.event, this.data.join('\n'));
      this.event = 'message';
      this.data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') this.event = value;
    else if (field === 'data') this.data.push(value);
  }
}

export class ServeFeed extends EventEmitter<ServeFeedEvents> {
  private request: http.ClientRequest | null = null;
  private timer: NodeJS.Timeout | null = null;
  private backoffMs = 250;
  private stopped = false;

  constructor(private readonly options: ServeFeedOptions) {
    super();
  }

  start(): void {
    this.connect();
  }

  close(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.request?.destroy();
  }

  private connect(): void {
    if (this.stopped) return;
    const url = new URL(
      'api/events?snapshot=1',
      this.options.base.href.endsWith('/') ? this.options.base.href : `${this.options.base.href}/`,
    );
    const get = url.protocol === 'https:' ? https.get : http.get;
    const headers: Record<string, string> = { Accept: 'text/event-stream' };
    if (this.options.token !== null) headers.Authorization = `Bearer ${this.options.token}`;
    const req = get(url, { headers, agent: false });
    this.request = req;
    req.on('response', (res) => {
      if (res.statusCode === 401 || res.statusCode === 403) {
        res.resume();
        return this.fail(`serve at ${this.options.base.origin} refused us (${res.statusCode}): check --token`);
      }
      if (res.statusCode !== 200 || !/text\/event-stream/.test(res.headers['content-type'] ?? '')) {
        res.resume();
        return this.drop(req, `serve answered ${res.statusCode} ${res.headers['content-type'] ?? ''}`.trim());
      }
      this.backoffMs = 250;
      const parser = new SseParser((event, data) => this.message(event, data));
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        try {
          parser.push(chunk);
        } catch (e) {
          req.destroy(e as Error);
        }
      });
      res.on('end', () => this.drop(req, 'the event stream ended'));
      res.on('error', (e) => this.drop(req, e.message));
    });
    req.on('error', (e) => this.drop(req, e.message));
  }

  private message(event: string, data: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      return; // not ours to understand
    }
    if (event === 'snapshot') {
      const listeners = (parsed as { listeners?: Listener[] }).listeners;
      if (Array.isArray(listeners)) this.emit('snapshot', listeners);
      return;
    }
    if (event !== 'message' && event !== 'silent') return;
    const e = parsed as { type?: string; listener?: Listener };
    if (e.listener === undefined || typeof e.listener.port !== 'number') return;
    if (e.type === 'open') this.emit('open', e.listener);
    else if (e.type === 'close') this.emit('close', e.listener);
  }

  /** `req` dropped: reconnect later. Events of an earlier, already dropped request are ignored. */
  private drop(req: http.ClientRequest, why: string): void {
    if (this.stopped || req !== this.request) return;
    req.destroy();
    this.request = null;
    this.emit('disconnected', why);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connect();
    }, this.backoffMs);
    this.backoffMs = Math.min(this.backoffMs * 2, this.options.maxBackoffMs ?? 10_000);
  }

  private fail(why: string): void {
    this.stopped = true;
    this.request?.destroy();
    this.emit('fatal', why);
  }
}
