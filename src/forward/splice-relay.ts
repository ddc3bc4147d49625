/**
 * The native data plane for TCP-to-TCP relays (direct mode): both sockets are handed to the
 * addon's relay engine (native/relay.c), which moves the bytes with splice(2) through a pipe
 * per direction in one thread for every connection: no copy into this process, no Buffer
 * per read, no JavaScript per byte. Same contract as relay.ts: byte-exact, half-close carried
 * across, backpressure through the kernel's buffers, a reset (or error) on one side passed on
 * as a reset.
 *
 * The hand-over: the engine dup()s both fds, then the JavaScript sockets are destroyed
 * without shutdown(), so libuv closes its fds (and drops them from its epoll first) and never
 * touches the connections again. It is only done when nothing of the connection is in
 * JavaScript yet (nothing read, nothing waiting to be written): otherwise, or without the
 * addon, or with PORTWATCH_FORWARD_RELAY=js, spliceRelay() returns null and the caller uses
 * the JavaScript relay.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { loadSockDiagAddon, sockDiagUnavailableReason, type RelayEndHow, type SockDiagAddon } from '../sources/sock-diag-addon.js';
import type { Relay, RelayStats } from './relay.js';

/** How a spliced relay ended, as the engine reports it. */
export interface SpliceRelayEnd {
  up: number;
  down: number;
  how: RelayEndHow;
  /** errno name for 'reset' and 'error' (ECONNRESET, EPIPE, ETIMEDOUT…). */
  code: string | null;
  /** The side that was reset or failed. */
  side: 'client' | 'target' | null;
}

export interface SpliceRelay extends Relay {
  /** Settles with the engine's report when the relay has ended. */
  readonly ended: Promise<SpliceRelayEnd>;
}

type Engine = Required<Pick<SockDiagAddon, 'relayInit' | 'relayStart' | 'relayCut'>>;

/** Relays running in the engine, by id: what to do when each one ends. */
const running = new Map<number, (end: SpliceRelayEnd) => void>();
let engine: Engine | null = null;

/** Relays running in the engine now (started by this module, not yet reported ended). */
export function runningSpliceRelays(): number {
  return running.size;
}

/** Why spliceRelay() would return null for every connection; null when it can splice. */
export function spliceRelayUnavailable(): string | null {
  if (process.env.PORTWATCH_FORWARD_RELAY === 'js') return 'PORTWATCH_FORWARD_RELAY=js';
  const addon = loadSockDiagAddon();
  if (addon === null) return sockDiagUnavailableReason() ?? 'the native addon is not available';
  if (typeof addon.relayStart !== 'function' || typeof addon.relayInit !== 'function' || typeof addon.relayCut !== 'function') {
    return 'the native addon is out of date (no relayStart); run npm run build:native';
  }
  return null;
}

function started(): Engine | null {
  if (process.env.PORTWATCH_FORWARD_RELAY === 'js') return null;
  if (engine !== null) return engine;
  if (spliceRelayUnavailable() !== null) return null;
  const addon = loadSockDiagAddon() as Engine & SockDiagAddon;
  try {
    addon.relayInit((id, up, down, how, code, side) => {
      const onEnd = running.get(id);
      running.delete(id);
      onEnd?.({ up, down, how, code, side });
    });
  } catch {
    return null; // no thread to be had (EAGAIN): this connection goes to the JavaScript relay
  }
  engine = addon;
  return engine;
}

/** The fd of a connected TCP socket that nothing has been read from or written to by JS yet. */
function handOverFd(s: Duplex): number | null {
  if (!(s instanceof net.Socket) || s instanceof tls.TLSSocket || s.destroyed || s.connecting || s.readableEnded || s.writableEnded)
    return null;
  if (s.readableLength > 0 || s.writableLength > 0 || s.pending) return null;
  const fd = (s as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : null;
}

/** Releases a socket handed to the engine: libuv drops it from its epoll and closes its fd; no FIN, no reset. */
function release(s: net.Socket): void {
  s.destroy();
}

function failure(end: SpliceRelayEnd): Error {
  const err = new Error(`${end.side ?? 'a'} side ${end.how === 'reset' ? 'was reset' : 'failed'}: ${end.code ?? 'unknown'}`);
  return Object.assign(err, { code: end.code ?? undefined });
}

/**
 * Relays `client` (the host side) and `upstream` (the target) in the native engine, or
 * returns null when this pair cannot be handed over (the caller relays it in JavaScript).
 */
export function spliceRelay(client: Duplex, upstream: Duplex): SpliceRelay | null {
  const clientFd = handOverFd(client);
  const upstreamFd = handOverFd(upstream);
  if (clientFd === null || upstreamFd === null) return null; // a tunnel, say: no thread started for it
  const native = started();
  if (native === null) return null;
  let id: number;
  try {
    id = native.relayStart(clientFd, upstreamFd);
  } catch {
    return null; // out of fds for the pipes, say: the JavaScript relay needs none
  }
  release(client as net.Socket);
  release(upstream as net.Socket);

  const stats: RelayStats = { up: 0, down: 0 };
  let cutReason: Error | null = null;
  let settleEnd!: (end: SpliceRelayEnd) => void;
  const ended = new Promise<SpliceRelayEnd>((resolve) => (settleEnd = resolve));
  running.set(id, (end) => {
    stats.up = end.up;
    stats.down = end.down;
    settleEnd(end);
  });
  const done = ended.then((end) => (end.how === 'reset' || end.how === 'error' ? failure(end) : end.how === 'cut' ? cutReason : null));
  return {
    stats,
    done,
    ended,
    destroy(reason?: Error): void {
      if (reason !== undefined) cutReason ??= reason;
      // As relay.ts: a failure is passed on as a reset, a plain cut closes both sides.
      native.relayCut(id, reason !== undefined);
    },
  };
}
