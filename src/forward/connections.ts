/**
 * The connections a forwarder carries: each host connection relayed to a connection made
 * by the Connector. When a port stops being forwarded, its connections in flight may go
 * on for a grace period, then are cut; when portwatch stops, they are cut at once.
 * A TCP-to-TCP pair goes to the addon's splice engine (splice-relay.ts); anything else, or
 * any pair when the addon cannot take it, to the JavaScript relay (relay.ts).
 */
import { EventEmitter } from 'node:events';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import type { Connector, TargetAddress } from './connector.js';
import { relay, type Relay } from './relay.js';
import { spliceRelay } from './splice-relay.js';

export interface ConnectionSetEvents {
  /** A connection could not be made in the target (port, message). */
  failed: [number, string];
}

export class ConnectionSet extends EventEmitter<ConnectionSetEvents> {
  private readonly byPort = new Map<number, Set<Relay>>();
  private readonly pending = new Map<net.Socket, AbortController>();
  private readonly draining = new Map<Set<Relay>, NodeJS.Timeout>();
  /** Connections whose bytes go through JavaScript (not spliced by the addon). */
  private copiedNow = 0;

  /**
   * onCopied: +1 as a connection starts being copied in JavaScript, -1 as it ends (several
   * sets may feed one count). Told after the bookkeeping; what it throws is ignored.
   */
  constructor(
    private readonly connector: Connector,
    private readonly graceMs: number,
    private readonly onCopied: (delta: 1 | -1) => void = () => {},
  ) {
    super();
  }

  /** Connections whose bytes go through JavaScript now. */
  get copied(): number {
    return this.copiedNow;
  }

  private tell(delta: 1 | -1): void {
    this.copiedNow += delta;
    try {
      this.onCopied(delta);
    } catch {
      // a caller's failure must not leave a relay untracked
    }
  }

  /** Connections carried now, over all ports. */
  get size(): number {
    let n = this.pending.size;
    for (const set of this.byPort.values()) n += set.size;
    for (const set of this.draining.keys()) n += set.size;
    return n;
  }

  /** Carries `client` to the first of `targets` that accepts (see target-address.ts). */
  open(port: number, client: net.Socket, targets: readonly TargetAddress[]): void {
    const abort = new AbortController();
    this.pending.set(client, abort);
    client.on('error', () => undefined); // a reset before the target answers is nobody's business
    client.once('close', () => abort.abort());
    this.connectFirst(targets, abort.signal).then(
      (upstream) => {
        this.pending.delete(client);
        if (client.destroyed) return void upstream.destroy();
        // Two TCP sockets (direct mode): spliced by the addon's engine. Else copied in JS.
        const spliced = spliceRelay(client, upstream);
        const r = spliced ?? relay(client, upstream);
        let set = this.byPort.get(port);
        if (set === undefined) this.byPort.set(port, (set = new Set()));
        set.add(r);
        if (spliced === null) client.resume(); // accepted paused: bytes waited in the kernel until now
        void r.done.then(() => {
          set.delete(r);
          if (set.size === 0 && this.byPort.get(port) === set) this.byPort.delete(port);
          if (spliced === null) this.tell(-1);
        });
        if (spliced === null) this.tell(1);
      },
      (e: Error) => {
        this.pending.delete(client);
        if (!client.destroyed) client.resetAndDestroy();
        if (!abort.signal.aborted) this.emit('failed', port, `connection to :${port} in the target failed: ${e.message}`);
      },
    );
  }

  private async connectFirst(targets: readonly TargetAddress[], signal: AbortSignal): Promise<Duplex> {
    let last: Error = new Error('nothing to connect to');
    for (const to of targets) {
      try {
        return await this.connector.connect(to, signal);
      } catch (e) {
        last = e as Error;
        if (signal.aborted) break;
      }
    }
    throw last;
  }

  /** The port is no longer forwarded: cut its connections now, or after the grace period. */
  closePort(port: number, now: boolean): void {
    const set = this.byPort.get(port);
    if (set === undefined) return;
    this.byPort.delete(port);
    if (now || this.graceMs <= 0) return void [...set].forEach((r) => r.destroy());
    const timer = setTimeout(() => {
      this.draining.delete(set);
      for (const r of set) r.destroy();
    }, this.graceMs);
    timer.unref();
    this.draining.set(set, timer);
  }

  destroyAll(): void {
    for (const [set, timer] of this.draining) {
      clearTimeout(timer);
      for (const r of set) r.destroy();
    }
    this.draining.clear();
    for (const abort of this.pending.values()) abort.abort();
    for (const [client] of this.pending) client.destroy();
    this.pending.clear();
    for (const set of this.byPort.values()) for (const r of set) r.destroy();
    this.byPort.clear();
  }
}
