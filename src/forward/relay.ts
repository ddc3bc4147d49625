/**
 * A byte pipe between two duplex streams (a host connection and its way into the target):
 * byte-exact in both directions, half-close carried across (one side's FIN ends the other
 * side's writing only), backpressure from each reader to the other writer (stream.pipe
 * pauses the source while the destination's buffer is full), and an error or reset on
 * either side tears both down (a TCP side with a reset of its own). Both sockets must be created with allowHalfOpen: true, or
 * Node ends the writing side as soon as the reading side ends.
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';

export interface RelayStats {
  /** Bytes from the host side to the target. */
  up: number;
  /** Bytes from the target back to the host side. */
  down: number;
}

export interface Relay {
  readonly stats: RelayStats;
  /** Settles when both sides are closed; with the first error, if any. */
  readonly done: Promise<Error | null>;
  /** Tears both sides down now. */
  destroy(reason?: Error): void;
}

/** Connects `client` and `upstream` until both directions have ended or one side fails. */
export function relay(client: Duplex, upstream: Duplex): Relay {
  const stats: RelayStats = { up: 0, down: 0 };
  let firstError: Error | null = null;
  let closed = 0;
  let settle!: (e: Error | null) => void;
  const done = new Promise<Error | null>((resolve) => (settle = resolve));

  const destroy = (reason?: Error): void => {
    if (reason && firstError === null) firstError = reason;
    // A failure is passed on as one: the other side's peer sees a reset, not a clean end it
    // might wait on forever with its own half still open.
    for (const side of [client, upstream]) {
      if (reason !== undefined && side instanceof net.Socket && !side.destroyed) side.resetAndDestroy();
      else side.destroy();
    }
  };
  const onClose = (): void => {
    closed += 1;
    // A side closed without a clean end in both directions (reset, destroy): take the
    // other down too, or it would wait for bytes that can never come.
    if (closed === 1) {
      const other = client.destroyed ? upstream : client;
      if (!(other.readableEnded && other.writableFinished)) setImmediate(() => other.destroy());
    }
    if (closed === 2) settle(firstError);
  };
  for (const side of [client, upstream]) {
    side.on('error', (e: Error) => destroy(e));
    side.once('close', onClose);
  }
  client.on('data', (chunk: Buffer) => (stats.up += chunk.length));
  upstream.on('data', (chunk: Buffer) => (stats.down += chunk.length));
  // pipe(): backpressure, and end() of the destination when the source ends (half-close).
  client.pipe(upstream);
  upstream.pipe(client);
  return { stats, done, destroy };
}
