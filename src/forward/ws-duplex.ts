/**
 * A WebSocket as a byte stream, for the tunnel through `portwatch serve` (both ends use it).
 *
 * Binary messages carry bytes. WebSocket has no half-close, so one text message `end` says
 * "no more bytes from me" (a TCP FIN); the socket closes (1000) once both directions have
 * ended. An error closes it with 1011 and the reason, which the other end raises.
 * Backpressure: a write is acknowledged while less than HIGH_WATER bytes wait in the
 * WebSocket's buffer, else when its frame is flushed; a reader that stops pulling pauses
 * the WebSocket, so its TCP window closes and the sender slows down.
 */
import { Duplex } from 'node:stream';
import type { RawData, WebSocket } from 'ws';

export const END_MESSAGE = 'end';
const HIGH_WATER = 1024 * 1024;

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** A close reason fits in 123 bytes of UTF-8. */
export function closeReason(text: string): string {
  const bytes = Buffer.from(text, 'utf8');
  return bytes.length <= 123
    ? text
    : bytes
        .subarray(0, 120)
        .toString('utf8')
        .replace(/\uFFFD$/, '') + '...';
}

export class WebSocketDuplex extends Duplex {
  private readEnded = false;

  constructor(private readonly ws: WebSocket) {
    super({ allowHalfOpen: true });
    ws.on('message', (data, isBinary) => {
      if (!isBinary) {
        if (data.toString() === END_MESSAGE && !this.readEnded) {
          this.readEnded = true;
          this.push(null);
        }
        return;
      }
      if (this.readEnded) return; // bytes after `end` break the protocol: dropped
      if (!this.push(toBuffer(data))) ws.pause();
    });
    ws.on('close', (code, reason) => {
      if (code === 1000 || code === 1005) {
        if (!this.readEnded) {
          this.readEnded = true;
          this.push(null);
        }
        if (!this.writableFinished) this.destroy();
      } else {
        this.destroy(new Error(reason.length > 0 ? reason.toString() : `the tunnel closed (${code})`));
      }
    });
    ws.on('error', (e) => this.destroy(e));
  }

  override _read(): void {
    if (this.ws.isPaused) this.ws.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.ws.readyState !== this.ws.OPEN) return callback(new Error('the tunnel is closed'));
    let acknowledged = false;
    this.ws.send(chunk, { binary: true }, (err) => {
      if (!acknowledged) callback(err ?? null);
    });
    if (this.ws.bufferedAmount < HIGH_WATER) {
      acknowledged = true;
      callback();
    }
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.ws.readyState !== this.ws.OPEN) return callback();
    this.ws.send(END_MESSAGE, (err) => callback(err ?? null));
  }

  override _destroy(error: Error | null, callback: (error: Error | null) => void): void {
    const ws = this.ws;
    if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) {
      if (error === null && this.readEnded && this.writableFinished) ws.close(1000);
      else if (ws.readyState === ws.OPEN) ws.close(1011, closeReason(error?.message ?? 'closed'));
      else ws.terminate();
    }
    callback(error);
  }
}
