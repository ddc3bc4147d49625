/**
 * HostWatcher: every network namespace on the machine, watched by one process. Emits what a
 * PortWatcher emits (`ready`, `open`, `close`, `change`, `scan`, `error`; `whenReady()`,
 * `snapshot()`, `rescan()`, `close()`), so consumers of one can take the other, plus
 * `namespace-open` / `namespace-close`, `update` (a listener's container named late) and
 * `tick` after every step (numbered by `steps`: who asks for a look can tell one that began after).
 *
 * When to look, and where:
 * - tracefs (root): an event names the task that called listen()/bind(); its namespace
 *   (readlink /proc/<tid>/ns/net) is read at once (paced like PortWatcher's hinted scans).
 *   A close whose task is gone is looked for in the namespaces that had that port; anything
 *   else unplaceable (and lost events) probes every namespace.
 * - polling, and under tracefs as the safety net (UDP closes make no event): a sweep within
 *   a CPU budget (host-sweep.ts): cheap probes of each namespace's socket counts, hot
 *   namespaces first, a read where they changed, and a read of each now and then.
 * - namespaces themselves are looked for every `refreshMs` (only new pids are read; nothing
 *   at all while /proc/loadavg says no task came or went), within a budget of their own
 *   (refreshDue), and at once when the container engine says a container started.
 * This module decides when a step runs (one at a time; a request during one runs another
 * right after); what a step looks at, and what each part of it costs, is host-step.ts.
 */
import { EventEmitter } from 'node:events';
import { PortwatchError } from '../errors.js';
import type { Listener } from '../listener.js';
import { pollTrigger } from '../triggers/poll.js';
import { startTrigger, type StartedTrigger } from '../triggers/select.js';
import type { Hint } from '../triggers/trigger.js';
import { HintPacer } from '../watch/hint-pacing.js';
import { HintQueue } from './host-hints.js';
import { HostScanner } from './host-scanner.js';
import { HostStep, type StepReason as Reason } from './host-step.js';
import { pacing } from './host-sweep.js';
import type { HostWatcherEvents, HostWatchOptions } from './host-watch-types.js';
import { Emitter } from './host-emitter.js';

export type { HostTickEvent, HostWatcherEvents, HostWatchOptions, NamespaceEvent, UpdateEvent } from './host-watch-types.js';

export class HostWatcher extends EventEmitter<HostWatcherEvents> {
  private readonly scanner: HostScanner;
  private readonly pacer = new HintPacer();
  private readonly out: Emitter;
  private readonly stepper: HostStep;
  private started: StartedTrigger;
  private readonly persistent: boolean;
  private readonly abort = new AbortController();
  private readonly onAbort = (): void => void this.close();
  private readonly hints = new HintQueue();
  private timer: NodeJS.Timeout | null = null;
  private hintTimer: NodeJS.Timeout | NodeJS.Immediate | null = null;
  private running: Promise<void> | null = null;
  private again: Reason | null = null;
  private closed = false;
  private closing: Promise<void> | null = null;
  private stepsStarted = 0;

  /** Throws PortwatchError for a source or trigger that cannot work here. */
  constructor(private readonly options: HostWatchOptions = {}) {
    super();
    const userContainers = options.containers;
    const containers =
      userContainers === false ? false : { ...(typeof userContainers === 'object' ? userContainers : {}), changed: () => this.renamed() };
    this.scanner = new HostScanner({ ...options, containers });
    this.out = new Emitter(this, options.filter ?? (() => true));
    try {
      this.started = startTrigger(options.trigger, { hint: (h) => this.onHint(h), failed: (e) => this.onTriggerFailed(e) });
    } catch (e) {
      this.scanner.close();
      throw e;
    }
    const { scanner, out, hints, pacer } = this;
    const closed = (): boolean => this.closed;
    const scanned = (reason: Reason, durationMs: number): void => this.emitScan(reason, durationMs);
    this.stepper = new HostStep(
      { scanner, out, hints, pacer, closed, scanned },
      pacing(this.started.trigger.safetyNetMs !== null, options),
    );
    this.persistent = options.persistent ?? false;
    options.signal?.addEventListener('abort', this.onAbort, { once: true });
    if (options.signal?.aborted) queueMicrotask(() => void this.close());
    else this.run('first');
    const index = this.scanner.containerIndex;
    if (index !== null) void index.watchEvents(this.abort.signal, () => this.request('rescan', true)).catch(() => {});
  }

  get source(): string {
    return this.scanner.source;
  }

  get trigger(): string {
    return this.started.trigger.name;
  }

  get triggerFallback(): string | null {
    return this.started.fallback;
  }

  whenReady(): Promise<Listener[]> {
    return this.out.ready;
  }

  /** Listeners in every namespace as of the last looks (filtered), our own namespace first. */
  snapshot(): Listener[] {
    return this.out.current();
  }

  /** The namespaces held now. */
  namespaces(): ReturnType<HostScanner['namespaces']> {
    return this.scanner.namespaces();
  }

  /** What could not be seen (without root: other users' namespaces), in sentences. */
  missing(): string[] {
    return this.scanner.missing();
  }

  /**
   * Probes every namespace as soon as possible (and reads those that changed); first looks for
   * new namespaces, unless `namespaces` is false (then they are looked for when due, as ever).
   */
  rescan(options: { namespaces?: boolean } = {}): void {
    this.request('rescan', options.namespaces ?? true);
  }

  /** Walks of every process's fd table for owners so far (new sockets no event named). */
  get walks(): number {
    return this.scanner.walks;
  }

  /** Steps started so far (a `tick` event follows each one, with its number). */
  get steps(): number {
    return this.stepsStarted;
  }

  /** Stops watching; idempotent; no event after it resolves. */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    this.abort.abort();
    this.options.signal?.removeEventListener('abort', this.onAbort);
    if (this.timer) clearTimeout(this.timer);
    if (this.hintTimer) clearTimeout(this.hintTimer as NodeJS.Timeout);
    this.out.closed();
    this.closing = Promise.all([this.running, this.started.stop()]).then(() => this.scanner.close());
    return this.closing;
  }

  /** O(1) per event (see host-hints.ts); the step that follows is paced like PortWatcher's hinted scans. */
  private onHint(hint: Hint): void {
    if (this.closed) return;
    this.hints.push(hint);
    if (this.hintTimer !== null) return;
    const run = (): void => {
      this.hintTimer = null;
      this.run('hint');
    };
    const delay = this.pacer.delayMs(performance.now());
    this.hintTimer = delay <= 0 ? setImmediate(run) : setTimeout(run, delay);
    if (!this.persistent) this.hintTimer.unref();
  }

  private onTriggerFailed(error: Error): void {
    if (this.closed) return;
    const name = this.trigger;
    this.started = { trigger: pollTrigger, stop: () => Promise.resolve(), fallback: `${name} stopped: ${error.message}` };
    this.stepper.setPace(pacing(false, this.options));
    this.out.error(new PortwatchError('ESCAN', `trigger '${name}' stopped, polling instead: ${error.message}`, { cause: error }));
    this.request('rescan', true);
  }

  private renamed(): void {
    if (!this.closed && this.out.isReady) this.out.updates(this.scanner.renameContainers());
  }

  private request(reason: Reason, refresh: boolean): void {
    this.stepper.request(refresh);
    this.run(reason);
  }

  /** One step at a time; a request during a step runs one more right after. */
  private run(reason: Reason): void {
    if (this.closed) return;
    if (this.running !== null) {
      if (this.again !== 'first') this.again = reason === 'timer' && this.again !== null ? this.again : reason;
      return;
    }
    const step = ++this.stepsStarted;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.running = this.stepper
      .run(reason)
      .then(
        () => null,
        (e: unknown) => {
          const error = e instanceof Error ? e : new Error(String(e));
          this.out.error(error);
          return error;
        },
      )
      .then((error) => {
        if (this.closed || this.listenerCount('tick') === 0) return;
        try {
          this.emit('tick', { reason, step, error });
        } catch (e) {
          this.out.error(e instanceof Error ? e : new Error(String(e))); // a handler's throw must not stop the watcher
        }
      })
      .finally(() => {
        this.running = null;
        const again = this.again;
        this.again = null;
        if (again !== null) this.run(again);
        else this.arm();
      });
  }

  private arm(): void {
    if (this.closed || this.timer !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.run('timer');
    }, this.stepper.tickMs);
    if (!this.persistent) this.timer.unref();
  }

  private emitScan(reason: Reason, durationMs: number): void {
    if (this.closed || this.listenerCount('scan') === 0) return;
    this.emit('scan', { source: this.source, trigger: this.trigger, reason, durationMs, listeners: this.out.count() });
  }
}

/** Starts watching every network namespace on the host. Throws PortwatchError for a bad source or trigger. */
export function watchHost(options: HostWatchOptions = {}): HostWatcher {
  return new HostWatcher(options);
}
