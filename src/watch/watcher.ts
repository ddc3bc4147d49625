/**
 * PortWatcher: scans when its trigger hints (tracefs) and on a schedule (when to scan is
 * scan-queue.ts's job), diffs by socket identity and tells: `ready` once with the initial
 * listeners, then `open`/`close` per change (closes first, so a restart on the same port reads
 * as close then open), `update` when an announced listener's owner is found late
 * (late-owners.ts), and one `change` per scan that opened or closed anything. A failing scan is
 * reported as `error` and retried with back-off; it never throws into the host program.
 */
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { PortwatchError } from '../errors.js';
import type { Listener, PortEvent } from '../listener.js';
import { Scanner } from '../scan.js';
import { pollTrigger } from '../triggers/poll.js';
import { changeTrigger } from '../triggers/changes.js';
import { startTrigger, type StartedTrigger } from '../triggers/select.js';
import type { Hint } from '../triggers/trigger.js';
import type { ChangeWatchStats } from '../sources/source.js';
import { diffListeners, diffSorted } from './diff.js';
import { eventIterator, type EventSink } from './event-iterator.js';
import { policyFrom } from './options.js';
import { ScanQueue, type ScanJob } from './scan-queue.js';
import { Schedule } from './schedule.js';
import { priceTick } from './tick-pricing.js';
import { timerDelayMs } from './timer-delay.js';
import type { PortWatcherEvents, TickEvent, WatchOptions } from './watch-types.js';
import { cpuMs } from './cpu-time.js';
import { ownedLate, OWNER_PATIENCE_MS, patience } from './late-owners.js';
import { OwnerTiming } from './owner-timing.js';

export type { ChangeEvent, PortWatcherEvents, ScanEvent, TickEvent, TickReason, UpdateEvent, WatchOptions } from './watch-types.js';

const noTrigger: StartedTrigger = { trigger: pollTrigger, stop: () => Promise.resolve(), fallback: null };

export class PortWatcher extends EventEmitter<PortWatcherEvents> implements AsyncIterable<PortEvent> {
  private readonly scanner: Scanner;
  private readonly schedule: Schedule;
  /** When to scan: the first at once, hinted ones paced, the rest on the schedule. */
  private readonly queue: ScanQueue;
  private readonly filter: (l: Listener) => boolean;
  private readonly signal: AbortSignal | undefined;
  /** Another process's namespace is watched (netnsPid): its exit is noticed by a scan. */
  private readonly watchesProcess: boolean;
  private readonly onAbort = (): void => void this.close();
  private started: StartedTrigger = noTrigger;
  private current: Listener[] | null = null;
  private closed = false;
  private closing: Promise<void> | null = null;
  /** Owner work off the clock: the search compiled while idle, a rescan when a late search ends. */
  private readonly owners: OwnerTiming;
  private readonly readyPromise: Promise<Listener[]>;
  private resolveReady!: (l: Listener[]) => void;
  private rejectReady!: (e: Error) => void;
  private readonly iterators = new Set<EventSink>();

  /** Throws PortwatchError: EUSAGE for a bad option, ESOURCE_UNAVAILABLE for a source or trigger that cannot work here. */
  constructor(options: WatchOptions = {}) {
    super();
    const policy = policyFrom(options);
    this.schedule = new Schedule(policy);
    this.scanner = new Scanner(options);
    this.filter = options.filter ?? (() => true);
    this.queue = new ScanQueue((job) => this.tick(job), options.persistent ?? false);
    this.owners = new OwnerTiming(
      this.scanner,
      () => this.rescan(),
      () => this.closed,
    );
    this.signal = options.signal;
    this.watchesProcess = options.netnsPid !== undefined;
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
    try {
      // Before the first scan, so nothing that happens between it and the first hint is missed.
      this.started = startTrigger(
        options.trigger,
        { hint: (h) => this.onHint(h), failed: (e) => this.onTriggerFailed(e) },
        {
          customSource: typeof options.source === 'object',
          poller: changeTrigger(this.scanner.source, options.netnsPid === undefined ? {} : { netnsPid: options.netnsPid }, policy),
        },
      );
    } catch (e) {
      this.scanner.close();
      throw e;
    }
    this.signal?.addEventListener('abort', this.onAbort, { once: true });
    this.queue.start();
  }

  /** Name of the source in use ('sockdiag', 'procfs', 'ss'). */
  get source(): string {
    return this.scanner.source.name;
  }

  /** Name of the trigger in use ('tracefs', 'poll'); 'poll' again if tracefs stopped working. */
  get trigger(): string {
    return this.started.trigger.name;
  }

  /** Why `auto` (or a trigger that failed) left the watcher polling; null otherwise. */
  get triggerFallback(): string | null {
    return this.started.fallback;
  }

  /** What the trigger has done so far (a poller's looks, interval and cost), or null when it keeps no count. */
  get triggerStats(): ChangeWatchStats | null {
    return this.started.trigger.stats?.() ?? null;
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
    if (!this.closed) this.queue.request('rescan');
  }

  /** Stops watching. Idempotent; no event is delivered after it resolves. */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    this.signal?.removeEventListener('abort', this.onAbort);
    const scanning = this.queue.stop();
    this.rejectReady(new PortwatchError('EABORTED', 'the watcher was closed before its first scan'));
    for (const it of this.iterators) it.push(null);
    const stopped = this.started.stop();
    this.closing = Promise.all([scanning, stopped]).then(() => this.scanner.close());
    return this.closing;
  }

  /** Yields open and close events until the watcher is closed. */
  [Symbol.asyncIterator](): AsyncIterator<PortEvent> {
    return eventIterator(this.iterators, this.closed);
  }

  private onHint(hint: Hint): void {
    if (!this.closed) this.queue.hint(hint);
  }

  private onTriggerFailed(error: Error): void {
    if (this.closed) return;
    const name = this.trigger;
    const failed = this.started;
    this.started = { ...noTrigger, fallback: `${name} stopped: ${error.message}` };
    void failed.stop().catch(() => {}); // release what it still holds (a poller's thread and socket)
    this.report(new PortwatchError('ESCAN', `trigger '${name}' stopped, polling instead: ${error.message}`, { cause: error }));
    this.queue.request('rescan'); // whatever happened since the last event
  }

  private async tick({ reason, hints, likely, asked }: ScanJob): Promise<void> {
    const cpuStartMs = cpuMs();
    const wallStartMs = performance.now();
    const walksBefore = this.scanner.walks;
    const searchingBefore = this.scanner.ownersPending() !== null;
    this.queue.pacer.started(wallStartMs);
    let outcome: Pick<TickEvent, 'error' | 'listeners' | 'scanMs' | 'costMs' | 'ownersPending'>;
    const stopWarmUpTimer = this.owners.scanStarting();
    try {
      const result = await this.scanner.scan(likely, { yieldTo: patience(asked, wallStartMs, OWNER_PATIENCE_MS) }).finally(stopWarmUpTimer);
      if (this.closed) return;
      const listeners = result.listeners.filter(this.filter);
      const trigger = this.trigger;
      this.emit('scan', { source: result.source, trigger, reason, durationMs: result.durationMs, listeners: listeners.length });
      const first = this.current === null;
      const changed = this.apply(listeners, result.attributed);
      const costMs = priceTick(this.queue.pacer, this.schedule, {
        reason,
        first,
        changed,
        walked: this.scanner.walks !== walksBefore,
        searching: searchingBefore || this.scanner.ownersPending() !== null,
        source: result.source,
        attributionMs: result.attributionMs,
        cpuStartMs,
        wallStartMs,
      });
      outcome = { error: null, listeners: listeners.length, scanMs: result.durationMs, costMs, ownersPending: result.ownersPending };
    } catch (e) {
      if (this.closed) return;
      this.schedule.failed();
      const error = e instanceof Error ? e : new Error(String(e));
      this.report(error);
      outcome = { error: error.message, listeners: null, scanMs: null, costMs: null, ownersPending: 0 };
    }
    const next = this.queue.next(this.timerDelayMs());
    const nextMs = next.delayMs;
    if (!this.closed && this.listenerCount('tick') > 0) {
      const walks = this.scanner.walks - walksBefore;
      const estimateMs = this.schedule.tickCostMs();
      const gapMs = this.queue.pacer.gapMs();
      const poller = this.triggerStats;
      this.emit('tick', {
        reason,
        trigger: this.trigger,
        source: this.source,
        ...outcome,
        estimateMs,
        nextMs,
        gapMs,
        walks,
        hints,
        poller,
      });
    }
    this.queue.arm(next);
    if (!this.closed) this.owners.scanEnded(next.reason === 'timer');
  }

  private timerDelayMs(): number {
    const { trigger } = this.started;
    return timerDelayMs({
      trigger,
      schedule: this.schedule,
      ownerRetryMs: this.scanner.ownerRetryInMs(),
      watchesProcess: this.watchesProcess,
    });
  }

  /** 'error' with no listener would throw; a watcher must never take its host down. */
  private report(error: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }

  /** Diffs and emits; true when anything opened, closed or became better known. */
  private apply(next: Listener[], attributed: readonly number[]): boolean {
    const previous = this.current;
    this.current = next;
    if (previous === null) {
      this.emit('ready', [...next]);
      this.resolveReady([...next]);
      return false;
    }
    const { opened, closed } = diffSorted(previous, next) ?? diffListeners(previous, next);
    // A listener an owner-dependent filter let through only now is an open, not an update.
    const owned = attributed.length === 0 ? [] : ownedLate(next, attributed, opened);
    if (opened.length === 0 && closed.length === 0 && owned.length === 0) return false;
    const time = new Date().toISOString();
    for (const listener of closed) this.deliver({ type: 'close', time, listener });
    for (const listener of opened) this.deliver({ type: 'open', time, listener });
    for (const listener of owned) if (!this.closed) this.emit('update', { type: 'update', time, listener });
    if (!this.closed && (opened.length > 0 || closed.length > 0)) this.emit('change', { time, opened, closed });
    return true;
  }

  private deliver(event: PortEvent): void {
    if (this.closed) return;
    this.emit(event.type, event);
    for (const it of this.iterators) it.push(event);
  }
}

/** Starts watching the listening sockets. Throws PortwatchError for a bad option, source, trigger or pid. */
export function watch(options: WatchOptions = {}): PortWatcher {
  return new PortWatcher(options);
}
