/**
 * HTTP detection: one short request to a TCP listener, bounded in time and bytes, tells
 * whether it speaks HTTP, HTTPS (a TLS handshake succeeds after plain HTTP was refused), or
 * neither; and the page's <title> when it serves HTML at `/`. The parsing is pure.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { HttpInfo } from './listener-table.js';

export const PROBE_TIMEOUT_MS = 1_000;
export const PROBE_MAX_BYTES = 64 * 1024;
const TITLE_MAX_CHARS = 200;

export interface ProbeOptions {
  /** Whole probe, both attempts (default 1 s). */
  timeoutMs?: number;
  /** Bytes read per attempt at most (default 64 KiB). */
  maxBytes?: number;
  /** Host header to send (default `localhost:<port>`). */
  hostHeader?: string;
  signal?: AbortSignal;
}

export interface ResponseHead {
  status: number;
  headers: Map<string, string>;
  /** Offset of the body in the buffer. */
  bodyOffset: number;
}

const HEAD_END = Buffer.from('\r\n\r\n');

/**
 * The status line and headers of an HTTP/1.x response, `'not-http'` when the bytes cannot
 * be one, or `'incomplete'` when more bytes are needed to tell.
 */
export function parseResponseHead(buf: Buffer): ResponseHead | 'not-http' | 'incomplete' {
  const prefix = buf.subarray(0, 5).toString('latin1');
  if (!'HTTP/'.startsWith(prefix) && !prefix.startsWith('HTTP/')) return 'not-http';
  const end = buf.indexOf(HEAD_END);
  if (end < 0) return 'incomplete';
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/\d(?:\.\d)? (\d{3})(?: .*)?$/.exec(lines[0] ?? '');
  if (!m?.[1]) return 'not-http';
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { status: Number(m[1]), headers, bodyOffset: end + HEAD_END.length };
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]{1,6}|#\d{1,7}|[a-z]{2,6});/gi, (whole, name: string) => {
    if (name[0] === '#') {
      const code = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return ENTITIES[name.toLowerCase()] ?? whole;
  });
}

/** The text of the first <title> in an HTML document: entities decoded, whitespace collapsed, at most 200 characters. */
export function extractTitle(html: string): string | null {
  const m = /<title(?:\s[^>]*)?>([\s\S]*?)<\/title\s*>/i.exec(html);
  if (!m?.[1]) return null;
  const text = decodeEntities(m[1]).replace(/\s+/g, ' ').trim();
  if (text === '') return null;
  return text.length > TITLE_MAX_CHARS ? `${text.slice(0, TITLE_MAX_CHARS - 1)}…` : text;
}

function isHtml(head: ResponseHead): boolean {
  return /\bhtml\b/i.test(head.headers.get('content-type') ?? '');
}

/** Has the probe read enough to decide? */
function enough(buf: Buffer): boolean {
  const head = parseResponseHead(buf);
  if (head === 'not-http') return true;
  if (head === 'incomplete') return false;
  if (head.status < 200 || head.status >= 300 || !isHtml(head)) return true;
  return /<\/title\s*>/i.test(buf.subarray(head.bodyOffset).toString('latin1'));
}

/** What an HTTP response says: http and its title (2xx HTML only), or null when it is not one. */
export function interpretResponse(buf: Buffer): { isHttp: boolean; title: string | null } {
  const head = parseResponseHead(buf);
  if (head === 'not-http' || head === 'incomplete') return { isHttp: buf.subarray(0, 5).toString('latin1') === 'HTTP/', title: null };
  const ok = head.status >= 200 && head.status < 300 && isHtml(head);
  return { isHttp: true, title: ok ? extractTitle(buf.subarray(head.bodyOffset).toString('utf8')) : null };
}

interface Exchange {
  data: Buffer;
  connected: boolean;
  timedOut: boolean;
}

/** Connects, sends `request`, reads until enough, the byte limit, the end, or the deadline. Never rejects. */
function exchange(
  open: () => Socket,
  connectEvent: 'connect' | 'secureConnect',
  request: string,
  deadline: number,
  maxBytes: number,
  signal?: AbortSignal,
): Promise<Exchange> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let connected = false;
    let finished = false;
    let socket: Socket | null = null;
    const finish = (timedOut: boolean): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket?.destroy();
      resolve({ data: Buffer.concat(chunks, size), connected, timedOut });
    };
    const onAbort = (): void => finish(true);
    const timer = setTimeout(() => finish(true), Math.max(0, deadline - Date.now()));
    if (signal?.aborted) return finish(true);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      socket = open();
    } catch {
      return finish(false);
    }
    socket.once(connectEvent, () => {
      connected = true;
      socket?.write(request);
    });
    socket.on('data', (d: Buffer) => {
      const take = d.subarray(0, maxBytes - size);
      chunks.push(take);
      size += take.length;
      if (size >= maxBytes || enough(Buffer.concat(chunks, size))) finish(false);
    });
    socket.once('end', () => finish(false));
    socket.once('close', () => finish(false));
    socket.once('error', () => finish(false));
  });
}

/**
 * Probes one TCP endpoint. Plain HTTP first; when that is answered with nothing, a reset or
 * a TLS record (a TLS server reading plain text), a TLS handshake decides `https`.
 */
export async function probeHttp(target: { host: string; port: number }, options: ProbeOptions = {}): Promise<HttpInfo> {
  const deadline = Date.now() + (options.timeoutMs ?? PROBE_TIMEOUT_MS);
  const maxBytes = options.maxBytes ?? PROBE_MAX_BYTES;
  const host = options.hostHeader ?? `localhost:${target.port}`;
  const request =
    `GET / HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: portwatch-probe\r\n` +
    'Accept: text/html,*/*;q=0.8\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n';

  const plain = await exchange(
    () => netConnect({ host: target.host, port: target.port }),
    'connect',
    request,
    deadline,
    maxBytes,
    options.signal,
  );
  const seen = interpretResponse(plain.data);
  if (seen.isHttp) return { http: 'http', title: seen.title };
  const first = plain.data[0];
  const maybeTls = plain.connected && !plain.timedOut && (first === undefined || first === 0x15 || first === 0x16);
  if (!maybeTls || Date.now() >= deadline || options.signal?.aborted) return { http: null, title: null };

  let handshake = false;
  const secure = await exchange(
    () => {
      const s = tlsConnect({
        host: target.host,
        port: target.port,
        servername: 'localhost',
        rejectUnauthorized: false,
        ALPNProtocols: ['http/1.1'],
      });
      s.once('secureConnect', () => (handshake = true));
      return s;
    },
    'secureConnect',
    request,
    deadline,
    maxBytes,
    options.signal,
  );
  if (!handshake) return { http: null, title: null };
  return { http: 'https', title: interpretResponse(secure.data).title };
}

/**
 * Well-known ports of protocols that are not HTTP and would log a probe as a bad request
 * (SSH, SMTP, DNS, POP3, IMAP, MySQL, PostgreSQL, Redis, Memcached, MongoDB, AMQP,
 * ZooKeeper, Kafka, Cassandra): not probed.
 */
export const NON_HTTP_PORTS: ReadonlySet<number> = new Set([
  22, 25, 53, 110, 143, 587, 993, 995, 2181, 3306, 5432, 5672, 6379, 9042, 9092, 11211, 27017,
]);
