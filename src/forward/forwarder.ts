/**
 * The forwarder: target listeners in, host listeners out. It is told which TCP listeners
 * open and close in the target (by a watcher in direct mode, by serve's event stream
 * through a tunnel), keeps one forward per target port, and carries each host connection
 * through a Connector. It never looks at sockets itself: the engine is the truth.
 *
 * Failures stay local: a port that cannot be bound, a refused connection, a target that
 * went away are each an `error` event, and every other forward goes on.
 */
import { EventEmitter } from 'node:events';
import type net from 'node:net';
import type { Listener } from '../listener.js';
import type { Connector } from './connector.js';
import { ConnectionSet } from './connections.js';
import { bindHostPort, unbind, type HostBinding } from './host-listener.js';
import { decideForward, type ForwardPolicyOptions, type Notify } from './policy.js';
import { targetCandidates, wantsIPv6 } from './target-address.js';
import type { ForwardErrorEvent, ForwardEvent, ForwardInfo, UnforwardEvent } from './events.js';

export interface ForwarderOptions extends ForwardPolicyOptions {
  connector: Connector;
  /** Host addresses to listen on; null = loopback (127.0.0.1, and ::1 for IPv6 targets). */
  bind: readonly string[] | null;
  /** Ports forwarded before they listen (devcontainer forwardPorts). */
  pinned?: readonly number[];
  /** How long a connection to a port that does not listen yet waits for it (ms). */
  waitForListenMs?: number;
  /** How long connections in flight may go on after their port closed in the target (ms). */
  graceMs?: number;
  /**
   * Called with +1 when a connection starts having its bytes copied in JavaScript (the
   * tunnel, or the JS relay where the addon cannot splice) and -1 when it ends; forwarders
   * that follow one container share a count this way. The CLI keeps V8's heap roomy while
   * any is open.
   */
  onCopying?: (delta: 1 | -1) => void;
}

export interface ForwarderEvents {
  forward: [ForwardEvent];
  unforward: [UnforwardEvent];
  error: [ForwardErrorEvent];
}

interface Entry {
  port: number;
  listeners: Map<number | string, Listener>;
  pinned: boolean;
  binding: HostBinding | null;
  binding6Pending: boolean;
  starting: Promise<void> | null;
  info: ForwardInfo | null;
  waiters: Set<() => void>;
}

const keyOf = (l: Listener): number | string => (l.inode !== 0 ? l.inode : `${l.family}|${l.address}|${l.port}`);

export class Forwarder extends EventEmitter<ForwarderEvents> {
  private readonly entries = new Map<number, Entry>();
  private readonly connections: ConnectionSet;
  private closed = false;

  constructor(private readonly options: ForwarderOptions) {
    super();
    this.connections = new ConnectionSet(options.connector, options.graceMs ?? 30_000, options.onCopying);
    this.connections.on('failed', (port, message) => this.fail(port, message));
    for (const port of options.pinned ?? []) this.entry(port).pinned = true;
  }

  /** Binds the pinned ports; call once after listeners are attached. */
  start(): void {
    for (const entry of this.entries.values()) this.reconcile(entry);
  }

  listenerOpened(listener: Listener): void {
    if (this.closed || listener.protocol !== 'tcp') return;
    const entry = this.entry(listener.port);
    entry.listeners.set(keyOf(listener), listener);
    for (const wake of entry.waiters) wake();
    this.reconcile(entry);
  }

  listenerClosed(listener: Listener): void {
    const entry = this.entries.get(listener.port);
    if (entry === undefined || !entry.listeners.delete(keyOf(listener))) return;
    this.reconcile(entry);
  }

  /** Every forward now, for `/api/forwards` and the page. */
  list(): ForwardInfo[] {
    return [...this.entries.values()].flatMap((e) => (e.info === null ? [] : [e.info]));
  }

  /** Closes every host listener and cuts every connection. Idempotent. */
  close(reason: UnforwardEvent['reason'] = 'stopped'): void {
    if (this.closed) return;
    this.closed = true;
    for (const entry of this.entries.values()) this.stop(entry, reason);
    this.connections.destroyAll();
  }

  private entry(port: number): Entry {
    let e = this.entries.get(port);
    if (e === undefined) {
      e = {
        port,
        listeners: new Map(),
        pinned: false,
        binding: null,
        binding6Pending: false,
        starting: null,
        info: null,
        waiters: new Set(),
      };
      this.entries.set(port, e);
    }
    return e;
  }

  private reconcile(entry: Entry): void {
    if (this.closed) return;
    const listeners = [...entry.listeners.values()];
    const decision = decideForward(entry.port, listeners, this.options);
    const wanted = decision.forward && (listeners.length > 0 || entry.pinned);
    if (!wanted) {
      if (entry.binding !== null) this.stop(entry, 'closed');
      if (listeners.length === 0 && !entry.pinned) this.entries.delete(entry.port);
      return;
    }
    if (entry.binding !== null) {
      this.addIPv6(entry, listeners);
      return;
    }
    if (entry.starting !== null) return;
    const addresses = this.options.bind ?? (wantsIPv6(listeners) ? ['127.0.0.1', '::1'] : ['127.0.0.1']);
    entry.starting = bindHostPort({
      addresses: [...addresses],
      wanted: decision.wanted,
      exact: decision.exact,
      onConnection: (socket, local) => this.accept(entry, socket, local),
    }).then(
      (binding) => {
        entry.starting = null;
        if (this.closed) return unbind(binding);
        entry.binding = binding;
        this.announce(entry, binding, decision.notify, decision.scheme, decision.label, decision.exact);
        this.reconcile(entry); // the target may have closed while we bound
      },
      (e: Error & { code?: string }) => {
        entry.starting = null;
        const why =
          decision.exact && e.code === 'EADDRINUSE' ? `host port ${decision.wanted} is taken (the same port is required)` : e.message;
        this.fail(entry.port, `cannot forward :${entry.port}: ${why}`);
      },
    );
  }

  /** A target that starts listening on IPv6 after the forward began: add ::1 on the same port, and announce the forward again. */
  private addIPv6(entry: Entry, listeners: Listener[]): void {
    const binding = entry.binding!;
    if (this.options.bind !== null || entry.binding6Pending || binding.addresses.includes('::1') || !wantsIPv6(listeners)) return;
    entry.binding6Pending = true;
    bindHostPort({ addresses: ['::1'], wanted: binding.port, exact: true, onConnection: (s, local) => this.accept(entry, s, local) }).then(
      (extra) => {
        if (entry.binding !== binding || this.closed) return unbind(extra);
        binding.servers.push(...extra.servers);
        binding.addresses.push(...extra.addresses);
        if (entry.info === null) return;
        // Announced again with both addresses: consumers replace a forward by its target port.
        entry.info = { ...entry.info, local: binding.addresses.map((address) => ({ address, port: binding.port })) };
        this.emit('forward', { type: 'forward', time: new Date().toISOString(), ...entry.info });
      },
      () => undefined, // ::1 taken here: 127.0.0.1 still serves the forward
    );
  }

  private announce(
    entry: Entry,
    binding: HostBinding,
    notify: Notify,
    scheme: 'http' | 'https',
    label: string | null,
    exact: boolean,
  ): void {
    const listener = [...entry.listeners.values()][0] ?? null;
    const host = binding.addresses[0]!.includes(':') ? `[${binding.addresses[0]}]` : binding.addresses[0]!;
    const shownHost = host === '127.0.0.1' ? 'localhost' : host;
    entry.info = {
      local: binding.addresses.map((address) => ({ address, port: binding.port })),
      remote: { port: entry.port },
      listener,
      label,
      notify,
      url: `${scheme}://${shownHost}:${binding.port}/`,
      moved: binding.port !== entry.port,
      exact,
      waiting: listener === null,
    };
    this.emit('forward', { type: 'forward', time: new Date().toISOString(), ...entry.info });
  }

  private stop(entry: Entry, reason: UnforwardEvent['reason']): void {
    if (entry.binding === null) return;
    unbind(entry.binding);
    this.connections.closePort(entry.port, reason === 'stopped');
    const info = entry.info!;
    entry.binding = null;
    entry.info = null;
    this.emit('unforward', { type: 'unforward', time: new Date().toISOString(), local: info.local, remote: info.remote, reason });
  }

  private fail(port: number, message: string): void {
    this.emit('error', { type: 'error', time: new Date().toISOString(), port, message });
  }

  private accept(entry: Entry, socket: net.Socket, localAddress: string): void {
    const family = localAddress.includes(':') ? 6 : 4;
    const targets = (): ReturnType<typeof targetCandidates> => targetCandidates([...entry.listeners.values()], family);
    if (targets().length > 0) return this.connections.open(entry.port, socket, targets());
    // A forwardPorts port that does not listen yet: wait briefly, then refuse cleanly.
    const timer = setTimeout(() => done(), this.options.waitForListenMs ?? 5_000);
    const done = (): void => {
      clearTimeout(timer);
      entry.waiters.delete(done);
      socket.off('close', done);
      const to = targets();
      if (to.length > 0 && !socket.destroyed) this.connections.open(entry.port, socket, to);
      else if (!socket.destroyed) socket.resetAndDestroy();
    };
    entry.waiters.add(done);
    socket.once('close', done);
  }
}
