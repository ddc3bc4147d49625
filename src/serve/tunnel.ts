/**
 * serve's end of `portwatch forward URL`: a WebSocket at /api/tunnel/<PORT> (the ws library)
 * that carries one TCP connection to what listens on PORT here, or the same connection raw
 * after an `Upgrade: portwatch-tcp` (raw-tunnel.ts: no framing, spliced by the addon). It is let in by the same
 * access decision as everything else (the token when serve has one), connects only where
 * the proxy would (a TCP port listening now in serve's namespace, never serve's own port),
 * and refuses any request a browser page makes (an Origin header): a tunnel is for
 * portwatch, not for pages, and WebSockets are not bound by CORS.
 *
 * The upgrade is accepted only once the connection inside is made, so a refused port is an
 * HTTP answer (502 and the reason) rather than a tunnel that dies at once. Then the
 * WebSocket and the connection are joined directly (ws-duplex.ts has the protocol): bytes
 * exact, `end` ⇄ FIN, each reader paused while the other side holds HIGH_WATER bytes
 * unsent, a reset or error on one side a reset (TCP) or a 1011 close (WebSocket) on the other.
 */
import type { IncomingMessage } from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import type { Relay } from '../forward/relay.js';
import { END_MESSAGE, HIGH_WATER, WS_OPTIONS, closeError, closeReason, toBuffer } from '../forward/ws-duplex.js';
import { joinRaw, wantsRawTunnel } from './raw-tunnel.js';
import type { ProxyResolution } from './proxy-target.js';
import { rejectUpgrade } from './responses.js';

const TUNNEL_PATH = /^\/api\/tunnel\/([1-9]\d{0,4})$/;
const CONNECT_TIMEOUT_MS = 10_000;
const WS_KEY = /^[+/0-9A-Za-z]{21}[AQgw]==$/;
const READ_SIZE = 128 * 1024; // a read that fills a small buffer gets one of these next
const SMALL_READ = 4000; // what an idle or chatty connection holds (a slice of Node's buffer pool)
const POOL_MAX = 64; // free READ_SIZE buffers kept for the next reads

/**
 * Buffers the connections inside read into, reused: a read allocates nothing, because with
 * a heap as small as serve's every few MB of new buffers cost a garbage collection
 * (measured: bench/tunnel-profile.mjs --gc). A buffer is back in the pool once the
 * WebSocket has written its bytes.
 */
const pool: Buffer[] = [];
const takeBuffer = (size: number): Buffer => (size === READ_SIZE ? pool.pop() : undefined) ?? Buffer.allocUnsafe(size);
const giveBack = (b: Buffer): void => void (b.length === READ_SIZE && pool.length < POOL_MAX && pool.push(b));

/** The port of a tunnel path, or null when the path is not one. */
export function tunnelPort(path: string): number | null {
  const m = TUNNEL_PATH.exec(path);
  const port = m ? Number(m[1]) : NaN;
  return port >= 1 && port <= 65535 ? port : null;
}

export interface TunnelContext {
  resolve(port: number): ProxyResolution;
  /** Every socket of the tunnel, so that serve's close() ends them. */
  track(socket: Duplex): void;
  log(message: string): void;
}

/** Why an upgrade request is not a WebSocket handshake we answer (before connecting anywhere), or null. */
function badHandshake(req: IncomingMessage, raw: boolean): [number, string, Record<string, string>?] | null {
  if (req.method !== 'GET') return [405, 'a tunnel handshake is a GET'];
  if (raw) return null; // `Upgrade: portwatch-tcp` asks nothing more
  if (req.headers.upgrade?.toLowerCase() !== 'websocket') return [400, 'not a WebSocket upgrade'];
  if (req.headers['sec-websocket-version'] !== '13') return [426, 'WebSocket version 13 only', { 'Sec-WebSocket-Version': '13' }];
  if (!WS_KEY.test(req.headers['sec-websocket-key'] ?? '')) return [400, 'a missing or malformed Sec-WebSocket-Key'];
  return null;
}

interface Reader {
  /** The buffer upstream reads into next. */
  next: Buffer;
  /** `n` bytes read into `b`; false pauses upstream. */
  data(n: number, b: Buffer): boolean;
}

export class TunnelEndpoint {
  private readonly wss = new WebSocketServer({ noServer: true, ...WS_OPTIONS });
  private open = 0;
  /** Raw tunnels carried now (spliced or piped): close() cuts them. */
  private readonly raws = new Set<Relay>();
  private closed = false;

  /**
   * onOpenChange: +1 as a tunnel is joined, -1 as it ends (the caller keeps the count). Told
   * after the bookkeeping; what it throws is not the tunnel's business.
   */
  constructor(
    private readonly onOpenChange: (delta: 1 | -1) => void = () => {},
    /** Raw tunnels carried at once; past it a new one is refused (503). */
    private readonly maxRaw = Number.POSITIVE_INFINITY,
  ) {}

  /** Tunnels joined and not yet ended. */
  get size(): number {
    return this.open;
  }

  private tell(delta: 1 | -1): void {
    this.open += delta;
    try {
      this.onOpenChange(delta);
    } catch {
      // a caller's failure must not leave a tunnel half joined
    }
  }

  handle(req: IncomingMessage, socket: Duplex, head: Buffer, port: number, ctx: TunnelContext): void {
    if (req.headers.origin !== undefined)
      return rejectUpgrade(socket, 403, 'the tunnel is not for pages (a request with an Origin header)');
    const raw = wantsRawTunnel(req);
    const bad = badHandshake(req, raw);
    if (bad !== null) return rejectUpgrade(socket, bad[0], bad[1], bad[2]);
    if (raw && this.raws.size >= this.maxRaw) return rejectUpgrade(socket, 503, `too many tunnels at once (${this.maxRaw})`);
    const resolved = ctx.resolve(port);
    if (!resolved.ok) return rejectUpgrade(socket, resolved.status, resolved.reason);
    const { host, family } = resolved.target;
    const reader: Reader = { next: takeBuffer(SMALL_READ), data: () => true };
    const upstream = net.connect({
      host,
      port,
      family,
      allowHalfOpen: true,
      noDelay: true,
      // Raw: the bytes go to a relay as they are (spliced, or piped), not through `reader`.
      ...(raw ? {} : { onread: { buffer: () => reader.next, callback: (n: number, b: Uint8Array) => reader.data(n, b as Buffer) } }),
    });
    const timer = setTimeout(() => upstream.destroy(new Error('connect timed out')), CONNECT_TIMEOUT_MS);
    const refuse = (e: NodeJS.ErrnoException): void => {
      clearTimeout(timer);
      rejectUpgrade(socket, 502, `cannot connect to port ${port}: ${e.code ?? e.message}`);
    };
    // The client gone before the connection is made; once joined, the WebSocket's close says.
    const gone = (): void => void upstream.destroy();
    upstream.once('error', refuse);
    socket.once('close', gone);
    upstream.once('connect', () => {
      clearTimeout(timer);
      upstream.off('error', refuse);
      socket.off('close', gone);
      if (socket.destroyed) return void upstream.destroy();
      ctx.track(upstream);
      if (raw) return this.joinRaw(socket, head, upstream, port, ctx);
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        void join(ws, upstream, reader).then((e) => {
          this.tell(-1);
          if (e !== null && !/ECONNRESET|EPIPE|closed/.test(e.message)) ctx.log(`tunnel to port ${port} ended: ${e.message}`);
        });
        this.tell(1);
      });
      // handleUpgrade refused after all (serve closing): the connection inside goes too.
      if (socket.destroyed) upstream.destroy();
    });
  }

  private joinRaw(socket: Duplex, head: Buffer, upstream: net.Socket, port: number, ctx: TunnelContext): void {
    joinRaw(socket, head, upstream, ({ spliced, relay }) => {
      if (this.closed) return relay.destroy(new Error('serve is closing'));
      this.raws.add(relay);
      // Bytes through JavaScript count as an open tunnel (serve's heap); spliced ones never enter it.
      if (!spliced) this.tell(1);
      void relay.done.then((e) => {
        this.raws.delete(relay);
        if (!spliced) this.tell(-1);
        if (e !== null && !/ECONNRESET|EPIPE|closed/.test(e.message)) ctx.log(`tunnel to port ${port} ended: ${e.message}`);
      });
    });
  }

  close(): void {
    this.closed = true;
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
    // A reset, not a FIN: a clean end would read as the whole answer to a client cut off midway.
    for (const r of this.raws) r.destroy(new Error('serve is closing'));
  }
}

/** Joins `ws` and `upstream` until both are closed; the first error. */
function join(ws: WebSocket, upstream: net.Socket, reader: Reader): Promise<Error | null> {
  return new Promise((settle) => {
    let firstError: Error | null = null;
    let gotEnd = false; // the peer's `end`: upstream.end() called
    let sentEnd = false; // upstream's FIN: our `end` sent
    let wsPaused = false;
    let open = 2;
    const closed = (): void => void (--open === 0 && settle(firstError));
    const fail = (e: Error): void => {
      firstError ??= e;
      if (!upstream.destroyed) upstream.resetAndDestroy();
      if (ws.readyState === ws.OPEN) ws.close(1011, closeReason(e.message));
    };
    const finish = (): void => void (gotEnd && sentEnd && ws.readyState === ws.OPEN && ws.close(1000));

    ws.on('message', (data, isBinary) => {
      if (!isBinary) {
        if (data.toString() !== END_MESSAGE || gotEnd) return;
        gotEnd = true;
        upstream.end();
        return finish();
      }
      if (gotEnd) return; // bytes after `end` break the protocol: dropped
      upstream.write(toBuffer(data));
      if (upstream.writableLength >= HIGH_WATER && !wsPaused) {
        wsPaused = true;
        ws.pause();
      }
    });
    upstream.on('drain', () => {
      if (!wsPaused) return;
      wsPaused = false;
      ws.resume();
    });
    ws.on('error', fail);
    ws.once('close', (code, reason) => {
      const error = closeError(code, reason);
      if (error !== null) fail(error);
      else if (!gotEnd) {
        gotEnd = true;
        upstream.end();
      }
      // A clean close while the far end still sends: nobody will read those bytes.
      if (!sentEnd && !upstream.destroyed) upstream.destroy();
      closed();
    });

    reader.data = (n, b) => {
      if (ws.readyState !== ws.OPEN) return true;
      const paused = ws.bufferedAmount + n >= HIGH_WATER;
      // The buffer goes back to the pool once written; the read that filled the queue
      // resumes upstream once its bytes are out.
      ws.send(b.subarray(0, n), { binary: true }, () => {
        giveBack(b);
        if (paused && !upstream.destroyed) upstream.resume();
      });
      reader.next = takeBuffer(n > b.length / 2 ? READ_SIZE : SMALL_READ);
      return !paused;
    };
    upstream.on('end', () => {
      sentEnd = true;
      if (ws.readyState === ws.OPEN) ws.send(END_MESSAGE);
      finish();
    });
    upstream.on('error', fail);
    upstream.once('close', () => {
      // Closed without both directions ended (destroyed, reset): the tunnel fails too.
      if (!(gotEnd && sentEnd) && ws.readyState === ws.OPEN) ws.close(1011, 'closed');
      closed();
    });
  });
}
