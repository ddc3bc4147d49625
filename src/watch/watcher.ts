/**
 * PortWatcher: owns time. It scans on a schedule, diffs by socket identity and tells:
 * `ready` once with the initial listeners, then `open`/`close` per change (closes first,
 * so a restart on the same port reads as close then open) and one `change` per scan that
 * changed anything. A failing scan is reported as `error` and retried with back-off; it
 * never throws into the host program.
 */
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { PortwatchError } from '../errors.js';
import type { Listener, PortEvent } from '../listener.js';
import { Scanner, type ScanOptions } from '../scan.js';
import { diffListeners } from './diff.js';
import { DEFAULT_POLICY, Schedule } from './schedule.js';

/** CPU time this process has used, in ms (user + system). */
function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

export interface ChangeEvent {
  time: string;
  opened: Listener[];
  closed: Listener[];
}

export interface WatchOptions extends ScanOptions {
  /** Fixed scan interval in ms. Without it the watcher keeps its CPU use under `cpuBudget`. */
  interval?: number;
  /** Fraction of one core the watcher may spend (default 0.003). */
  cpuBudget?: number;
  /** Bounds for the chosen interval (defaults 100 ms and 5 s). */
  minInterval?: number;
  maxInterval?: number;
  /** Only these listeners are listed and announced. */
  filter?: (listener: Listener) => boolean;
  /** Stop when this signal aborts. */
  signal?: AbortSignal;
  /** Keep the Node.js process alive while watching (default false). */
  persistent?: boolean;
}

/** Emitted after every successful scan: what it cost and what it saw (for metrics). */
export interface ScanEvent {
  source: string;
  durationMs: number;
  listeners: number;
}

export type PortWatcherEvents = {
  ready: [listeners: Listener[]];
  scan: [scan: ScanEvent];
  open: [event: PortEvent];
  close: [event: PortEvent];
  change: [change: ChangeEvent];
  error: [error: Error];
};

export class PortWatcher extends EventEmitter<PortWatcherEvents> implements AsyncIterable<PortEvent> {
  private readonly scanner: Scanner;
  private readonly schedule: Schedule;
  private readonly filter: (l: Listener) => boolean;
  private readonly persistent: boolean;
  private readonly signal: AbortSignal | undefined;
  private readonly onAbort = (): void => void this.close();
  private current: Listener[] | null = null;
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  private closed = false;
  /** rescan() was called while a scan was running: the next one starts as soon as it ends. */
  private rescanRequested = false;
  /** Process CPU time (ms) when the last scan ended: what follows until the next scan is tick overhead. */
  private lastScanEndCpu: number | null = null;
  /** Whether the last tick changed nothing and walked /proc for no owner. */
  private lastTickQuiet = false;
  private closing: Promise<void> | null = null;
  private readonly readyPromise: Promise<Listener[]>;
  private resolveReady!: (l: Listener[]) => void;
  private rejectReady!: (e: Error) => void;
  private readonly iterators = new Set<{ push(e: PortEvent | null): void }>();

  constructor(options: WatchOptions = {}) {
    super();
    this.scanner = new Scanner(options);
    this.schedule = new Schedule({
      ...(options.interval !== undefined ? { fixedMs: options.interval } : {}),
      cpuBudget: options.cpuBudget ?? DEFAULT_POLICY.cpuBudget,
      minMs: options.minInterval ?? DEFAULT_POLICY.minMs,
      maxMs: options.maxInterval ?? DEFAULT_POLICY.maxMs,
    });
    this.filter = options.filter ?? (() => true);
    this.persistent = options.persistent ?? false;
    this.signal = options.signal;
    this.readyPromise = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.readyPromise.catch(() => {}); // a close before ready is not an unhandled rejection
    if (this.signal?.aborted) {
      this.closed = true;
      this.rejectReady(new PortwatchError('EABORTED', 'the watcher was aborted before its first scan'));
      return;
    }
    this.signal?.addEventListener('abort', this.onAbort, { once: true });
    this.arm(0);
  }

  /** Name of the source in use ('sockdiag', 'procfs', 'ss'). */
  get source(): string {
    return this.scanner.source.name;
  }

  /** The listeners as of the last scan (empty before `ready`). */
  snapshot(): Listener[] {
    return this.current ? [...this.current] : [];
  }

  /** Resolves with the initial listeners once the first scan succeeded. */
  whenReady(): Promise<Listener[]> {
    return this.readyPromise;
  }

  /**
   * Scans again as soon as possible, e.g. when something hints that a port just opened.
   * Calls coalesce: however many arrive, one scan that starts after them follows (if a scan
   * is running, the next one starts as soon as it ends). A no-op after close().
   */
  rescan(): void {
    if (this.closed) return;
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
      this.arm(0);
      return;
    }
    this.rescanRequested = true;
  }

  /** Stops watching. Idempotent; no event is delivered after it resolves. */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    this.signal?.removeEventListener('abort', this.onAbort);
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.rejectReady(new PortwatchError('EABORTED', 'the watcher was closed before its first scan'));
    for (const it of this.iterators) it.push(null);
    this.closing = (this.inFlight ?? Promise.resolve()).then(() => this.scanner.close());
    return this.closing;
  }

  /** Yields open and close events until the watcher is closed. */
  [Symbol.asyncIterator](): AsyncIterator<PortEvent> {
    const queue: PortEvent[] = [];
    let wake: (() => void) | null = null;
    let done = this.closed;
    const sink = {
      push: (e: PortEvent | null) => {
        if (e === null) done = true;
        else queue.push(e);
        wake?.();
        wake = null;
      },
    };
    this.iterators.add(sink);
    const finish = (): IteratorReturnResult<undefined> => {
      this.iterators.delete(sink);
      done = true;
      return { done: true, value: undefined };
    };
    return {
      next: async (): Promise<IteratorResult<PortEvent>> => {
        for (;;) {
          const e = queue.shift();
          if (e) return { done: false, value: e };
          if (done) return finish();
          await new Promise<void>((r) => (wake = r));
        }
      },
      return: async () => finish(),
    };
  }

  private arm(delayMs: number): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.inFlight = this.tick().finally(() => (this.inFlight = null));
    }, delayMs);
    if (!this.persistent) this.timer.unref();
  }

  private async tick(): Promise<void> {
    const cpuStart = cpuMs();
    // Only the gap after a quiet tick is periodic cost. After a change, the gap holds what
    // the change caused (consumers' handlers, garbage from an owner walk): paid per change.
    if (this.lastScanEndCpu !== null && this.lastTickQuiet) this.schedule.between(cpuStart - this.lastScanEndCpu);
    this.lastTickQuiet = false;
    const wallStart = performance.now();
    const walksBefore = this.scanner.walks;
    try {
      const result = await this.scanner.scan();
      if (this.closed) return;
      // CPU for in-process sources; wall time covers a spawned ss, whose CPU is not ours to read.
      const cpuEnd = cpuMs();
      const spent = Math.max(cpuEnd - cpuStart, performance.now() - wallStart);
      this.schedule.succeeded(Math.max(0, spent - result.attributionMs));
      this.lastScanEndCpu = cpuEnd;
      const listeners = result.listeners.filter(this.filter);
      this.emit('scan', { source: result.source, durationMs: result.durationMs, listeners: listeners.length });
      const changed = this.apply(listeners);
      this.lastTickQuiet = !changed && this.scanner.walks === walksBefore;
    } catch (e) {
      if (this.closed) return;
      this.schedule.failed();
      // 'error' with no listener would throw; a watcher must never take its host down.
      if (this.listenerCount('error') > 0) this.emit('error', e instanceof Error ? e : new Error(String(e)));
    }
    const delay = this.rescanRequested ? 0 : this.schedule.nextDelayMs();
    this.rescanRequested = false;
    this.arm(delay);
  }

  /** Diffs and emits; true when anything changed (or this was the first scan). */
  private apply(next: Listener[]): boolean {
    const previous = this.current;
    this.current = next;
    if (previous === null) {
      this.emit('ready', [...next]);
      this.resolveReady([...next]);
      return true;
    }
    const { opened, closed } = diffListeners(previous, next);
    if (opened.length === 0 && closed.length === 0) return false;
    const time = new Date().toISOString();
    for (const listener of closed) this.deliver({ type: 'close', time, listener });
    for (const listener of opened) this.deliver({ type: 'open', time, listener });
    if (!this.closed) this.emit('change', { time, opened, closed });
    return true;
  }

  private deliver(event: PortEvent): void {
    if (this.closed) return;
    this.emit(event.type, event);
    for (const it of this.iterators) it.push(event);
  }
}

/** Starts watching the listening sockets. Throws PortwatchError for a bad source or pid. */
export function watch(options: WatchOptions = {}): PortWatcher {
  return new PortWatcher(options);
}
