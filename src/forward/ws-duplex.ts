/**
 * The tunnel through `portwatch serve`: one TCP connection as one WebSocket, spoken with the
 * ws library at both ends (tunnel-connector.ts, serve/tunnel.ts).
 *
 * Binary messages carry bytes. WebSocket has no half-close, so one text message `end` says
 * "no more bytes from me" (a TCP FIN); the socket closes (1000) once both directions have
 * ended. An error closes it with 1011 and the reason, which the other end raises.
 *
 * WebSocketDuplex makes the forward's end a Duplex for the relay. Backpressure: a write is
 * acknowledged while less than HIGH_WATER bytes wait in the WebSocket's buffer, else once
 * its frame is flushed; a reader that stops pulling pauses the WebSocket, so its TCP window
 * closes and serve's side slows down.
 */
import { Duplex } from 'node:stream';
import type { RawData, WebSocket } from 'ws';

export const END_MESSAGE = 'end';
/** Bytes that may wait to be sent (in a WebSocket or a socket) before the side feeding it pauses. */
export const HIGH_WATER = 256 * 1024;
/** The largest message the forward sends (a write is split into messages of this size). */
const MAX_MESSAGE = 64 * 1024;
/** The largest message either end takes (ws gathers each message whole): far above the reads we send. */
const MAX_PAYLOAD = 16 * 1024 * 1024;

/** Options of both ends' ws sockets. */
export const WS_OPTIONS = {
  perMessageDeflate: false,
  maxPayload: MAX_PAYLOAD,
  allowSynchronousEvents: true, // messages handed on as they are parsed, not one per tick
} as const;

export function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** A close reason fits in 123 bytes of UTF-8. */
export function closeReason(text: string): string {
  const bytes = Buffer.from(text, 'utf8');
  return bytes.length <= 123
    ? text
    : `${bytes
        .subarray(0, 120)
        .toString('utf8')
        .replace(/\uFFFD$/, '')}...`;
}

/** The error a WebSocket's close carries, or null for a clean close (1000, 1005). */
export function closeError(code: number, reason: Buffer): Error | null {
  if (code === 1000 || code === 1005) return null;
  return new Error(reason.length > 0 ? reason.toString() : `the tunnel closed (${code})`);
}

export class WebSocketDuplex extends Duplex {
  private readEnded = false;

  constructor(private readonly ws: WebSocket) {
    // Buffers of a read's size or more: a 64 KiB message must not pause the socket (and a
    // 64 KiB write must not pause the relay's source) every time.
    super({ allowHalfOpen: true, readableHighWaterMark: HIGH_WATER, writableHighWaterMark: HIGH_WATER });
    ws.on('message', (data, isBinary) => {
      if (!isBinary) {
        if (data.toString() === END_MESSAGE) this.endReading();
        return;
      }
      if (this.readEnded) return; // bytes after `end` break the protocol: dropped
      if (!this.push(toBuffer(data))) ws.pause();
    });
    ws.on('close', (code, reason) => {
      const error = closeError(code, reason);
      if (error !== null) return void this.destroy(error);
      this.endReading();
      if (!this.writableFinished) this.destroy();
    });
    ws.on('error', (e) => this.destroy(e));
  }

  private endReading(): void {
    if (this.readEnded) return;
    this.readEnded = true;
    this.push(null);
  }

  override _read(): void {
    if (this.ws.isPaused) this.ws.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.ws.readyState !== this.ws.OPEN) return callback(new Error('the tunnel is closed'));
    if (chunk.length === 0) return callback();
    let acknowledged = false;
    const acknowledge = (err: Error | null): void => {
      if (acknowledged) return;
      acknowledged = true;
      callback(err);
    };
    // Messages of at most MAX_MESSAGE: serve writes each one whole to the far end, so this
    // bounds what it holds for a target that does not read.
    for (let at = 0; at < chunk.length; at += MAX_MESSAGE) {
      const last = at + MAX_MESSAGE >= chunk.length;
      this.ws.send(chunk.subarray(at, at + MAX_MESSAGE), { binary: true }, last ? (err) => acknowledge(err ?? null) : undefined);
    }
    if (this.ws.bufferedAmount < HIGH_WATER) acknowledge(null);
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.ws.readyState !== this.ws.OPEN) return callback();
    this.ws.send(END_MESSAGE, (err) => callback(err ?? null));
  }

  override _destroy(error: Error | null, callback: (error: Error | null) => void): void {
    const ws = this.ws;
    if (ws.readyState === ws.OPEN) {
      if (error === null && this.readEnded && this.writableFinished) ws.close(1000);
      else ws.close(1011, closeReason(error?.message ?? 'closed'));
    } else if (ws.readyState === ws.CONNECTING) ws.terminate();
    callback(error);
  }
}
