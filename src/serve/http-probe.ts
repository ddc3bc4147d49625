/**
 * HTTP detection: one short request to a TCP listener, bounded in time and bytes, tells
 * whether it speaks HTTP, HTTPS (a TLS handshake succeeds after plain HTTP was refused), or
 * neither; and the page's <title> when it serves HTML at `/`. The parsing is pure. Which
 * listeners are probed at all is probe-targets.ts's rule.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { HttpInfo } from './listener-table.js';

export { NON_HTTP_PORTS, NON_HTTP_PROCESSES, shouldProbe } from './probe-targets.js';

export const PROBE_TIMEOUT_MS = 1_000;
export const PROBE_MAX_BYTES = 64 * 1024;
export const PROBE_CLOSE_GRACE_MS = 500;
const TITLE_MAX_CHARS = 200;

export interface ProbeOptions {
  /** Whole probe, both attempts (default 1 s). */
  timeoutMs?: number;
  /** Bytes read per attempt at most (default 64 KiB). */
  maxBytes?: number;
  /**
   * After the deadline, how long a server that has not closed the probe's connection gets
   * to close it after our FIN before the connection is reset (default 500 ms). 0 resets at
   * once: that also frees a server that never reads its sockets (a Node server otherwise
   * never sees the FIN behind the unread request, and its server.close() waits for ever),
   * but a Node server without an 'error' listener on its sockets dies of the ECONNRESET.
   */
  closeGraceMs?: number;
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
  /** TCP connected (plain), or the TLS handshake done (tls). */
  connected: boolean;
  timedOut: boolean;
}

interface Attempt {
  target: { host: string; port: number };
  tls: boolean;
  request: string;
  deadline: number;
  maxBytes: number;
  closeGraceMs: number;
  signal?: AbortSignal | undefined;
}

const ignore = (): void => {};

function resetConnection(raw: Socket, stream: Socket): void {
  if (!raw.destroyed) raw.resetAndDestroy();
  stream.destroy();
}

/**
 * Ends a probe connection the server has not closed. A FIN first: a server that reads sees
 * the end and closes cleanly. Only if it has not closed within `graceMs` (it never reads, or
 * is stuck) is the connection reset, so that neither side is left holding it: our socket in
 * FIN-WAIT-2, the server's in CLOSE-WAIT. Not a reset at once: a reset is an error on the
 * server's socket, and a Node server without an 'error' listener on its sockets dies of it.
 */
function closeProbeSocket(raw: Socket, stream: Socket, peerEnded: boolean, graceMs: number, maxDiscard: number): void {
  raw.on('error', ignore);
  stream.on('error', ignore);
  if (raw.destroyed) return;
  if (peerEnded || raw.connecting) {
    stream.destroy();
    raw.destroy();
    return;
  }
  if (graceMs <= 0) return resetConnection(raw, stream);
  const timer = setTimeout(() => resetConnection(raw, stream), graceMs);
  raw.once('close', () => clearTimeout(timer));
  // Keep reading (and dropping) so the server's FIN is seen; a server that keeps sending is reset.
  let discarded = 0;
  stream.removeAllListeners('data');
  stream.on('data', (d: Buffer) => {
    discarded += d.length;
    if (discarded > maxDiscard) {
      clearTimeout(timer);
      resetConnection(raw, stream);
    }
  });
  stream.once('end', () => stream.destroy());
  stream.end();
}

/** Connects, sends the request, reads until enough, the byte limit, the end, or the deadline. Never rejects. */
function exchange(a: Attempt): Promise<Exchange> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let connected = false;
    let peerEnded = false;
    let finished = false;
    let raw: Socket | null = null;
    let stream: Socket | null = null;
    const finish = (timedOut: boolean): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      a.signal?.removeEventListener('abort', onAbort);
      if (raw && stream) closeProbeSocket(raw, stream, peerEnded, a.closeGraceMs, a.maxBytes);
      resolve({ data: Buffer.concat(chunks, size), connected, timedOut });
    };
    const onAbort = (): void => finish(true);
    const timer = setTimeout(() => finish(true), Math.max(0, a.deadline - Date.now()));
    if (a.signal?.aborted) return finish(true);
    a.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      raw = netConnect({ host: a.target.host, port: a.target.port });
      // TLS over a socket of our own, so that the TCP connection itself can be reset.
      stream = a.tls ? tlsConnect({ socket: raw, servername: 'localhost', rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }) : raw;
    } catch {
      raw?.destroy();
      return finish(false);
    }
    const s = stream;
    s.once(a.tls ? 'secureConnect' : 'connect', () => {
      connected = true;
      s.write(a.request);
    });
    s.on('data', (d: Buffer) => {
      const take = d.subarray(0, a.maxBytes - size);
      chunks.push(take);
      size += take.length;
      if (size >= a.maxBytes || enough(Buffer.concat(chunks, size))) finish(false);
    });
    s.once('end', () => {
      peerEnded = true;
      finish(false);
    });
    s.once('close', () => finish(false));
    s.once('error', () => finish(false));
    if (raw !== s) raw.once('error', () => finish(false));
  });
}

/**
 * Probes one TCP endpoint. Plain HTTP first; when that is answered with nothing, a reset or
 * a TLS record (a TLS server reading plain text), a TLS handshake decides `https`. Resolves
 * by the deadline; a connection the server has not closed by then is ended in the
 * background (see {@link ProbeOptions.closeGraceMs}).
 */
export async function probeHttp(target: { host: string; port: number }, options: ProbeOptions = {}): Promise<HttpInfo> {
  const deadline = Date.now() + (options.timeoutMs ?? PROBE_TIMEOUT_MS);
  const host = options.hostHeader ?? `localhost:${target.port}`;
  const request =
    `GET / HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: portwatch-probe\r\n` +
    'Accept: text/html,*/*;q=0.8\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n';
  const attempt = {
    target,
    request,
    deadline,
    maxBytes: options.maxBytes ?? PROBE_MAX_BYTES,
    closeGraceMs: options.closeGraceMs ?? PROBE_CLOSE_GRACE_MS,
    signal: options.signal,
  };

  const plain = await exchange({ ...attempt, tls: false });
  const seen = interpretResponse(plain.data);
  if (seen.isHttp) return { http: 'http', title: seen.title };
  const first = plain.data[0];
  const maybeTls = plain.connected && !plain.timedOut && (first === undefined || first === 0x15 || first === 0x16);
  if (!maybeTls || Date.now() >= deadline || options.signal?.aborted) return { http: null, title: null };

  const secure = await exchange({ ...attempt, tls: true });
  if (!secure.connected) return { http: null, title: null };
  return { http: 'https', title: interpretResponse(secure.data).title };
}
