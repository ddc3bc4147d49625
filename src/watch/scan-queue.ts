/**
 * When a watcher scans: at most one scan in flight and one pending, however many ask. The
 * first scan starts at once; a trigger's hint asks for one that starts after a quiet moment
 * at once and otherwise when the pacing gap ends (hint-pacing.ts); rescan() does not wait;
 * after each scan the next is armed on the watcher's timer. The hints and the tasks they
 * named are gathered here until the scan that answers them takes them.
 */
import { performance } from 'node:perf_hooks';
import type { Hint } from '../triggers/trigger.js';
import { HintPacer } from './hint-pacing.js';
import type { TickReason } from './watch-types.js';

/** Hints kept for a scan's `tick` event (the rest still ask for it). */
const MAX_HINTS = 16;
/** Distinct tasks named by the hints since the last scan: the likely owners of what opened. */
const MAX_LIKELY = 64;

/** What one scan is asked to answer. */
export interface ScanJob {
  reason: TickReason;
  hints: Hint[];
  /** The tasks kernel events named (all of them, not only the hints kept). */
  likely: number[];
  /**
   * Settles when, while this scan runs, a trigger hints that a listener may have appeared (a
   * TCP listen, the poller seeing the table change, lost kernel events); never otherwise. A
   * rescan() or a bind() (tracefs' only sign of a UDP listener, and of every UDP client)
   * does not hurry it.
   */
  asked: Promise<void>;
}

/** The scan after this one: when, and why. */
export interface NextScan {
  delayMs: number;
  reason: TickReason;
}

export class ScanQueue {
  /** Under churn, hinted scans wait for a gap priced on their cost. */
  readonly pacer = new HintPacer();
  private timer: { handle: NodeJS.Timeout | NodeJS.Immediate; immediate: boolean; dueMs: number } | null = null;
  private inFlight: Promise<void> | null = null;
  /** A scan was asked for while one was running: the next one starts as soon as it ends. */
  private pendingReason: TickReason | null = null;
  private readonly hints: Hint[] = [];
  private readonly likely = new Set<number>();
  /** Settles the running scan's `asked`: a hint that a listener may have appeared came while it runs. */
  private onAsked: (() => void) | null = null;
  private stopped = false;

  /** persistent: whether a scan that is due keeps the process alive. */
  constructor(
    private readonly scan: (job: ScanJob) => Promise<void>,
    private readonly persistent: boolean,
  ) {}

  /** Arms the first scan, at once. */
  start(): void {
    this.arm({ delayMs: 0, reason: 'first' });
  }

  hint(hint: Hint): void {
    if (this.stopped) return;
    if (this.hints.length < MAX_HINTS) this.hints.push(hint);
    if (hint.tid !== undefined && this.likely.size < MAX_LIKELY) this.likely.add(hint.tid);
    // 'lost': the kernel dropped events, a listen among them maybe.
    if (this.timer === null && (hint.kind === 'listen' || hint.kind === 'changed' || hint.kind === 'lost')) this.onAsked?.();
    this.request('hint');
  }

  request(reason: TickReason): void {
    if (this.stopped) return;
    if (this.timer === null) {
      // A scan is running. A 'rescan' outranks a 'hint': it must not wait for the gap.
      if (this.pendingReason === null || reason === 'rescan') this.pendingReason = reason;
      return;
    }
    const now = performance.now();
    const delayMs = this.delayFor(reason, now);
    if (this.timer.dueMs <= now + delayMs + 1) return; // already due as soon (within the timers' 1 ms)
    this.disarm();
    this.arm({ delayMs, reason });
  }

  /**
   * Called by a scan as it ends: the next one, pending if one was asked for meanwhile,
   * else on the timer after `timerDelayMs`. The scan arms it with arm() once it has told.
   */
  next(timerDelayMs: number): NextScan {
    const pending = this.pendingReason;
    this.pendingReason = null;
    if (pending === null) return { delayMs: timerDelayMs, reason: 'timer' };
    return { delayMs: this.delayFor(pending, performance.now()), reason: pending };
  }

  arm(next: NextScan): void {
    if (this.stopped) return;
    this.disarm(); // one timer at a time, whoever arms
    const run = (): void => {
      this.timer = null;
      const asked = new Promise<void>((resolve) => (this.onAsked = resolve));
      const job: ScanJob = { reason: next.reason, hints: this.hints.splice(0), likely: [...this.likely], asked };
      this.likely.clear();
      this.inFlight = this.scan(job).finally(() => {
        this.inFlight = null;
        this.onAsked = null;
      });
    };
    // setImmediate, not setTimeout(0): a hint's scan should not wait for the 1 ms timer floor.
    const immediate = next.delayMs <= 0;
    const handle = immediate ? setImmediate(run) : setTimeout(run, next.delayMs);
    if (!this.persistent) handle.unref();
    this.timer = { handle, immediate, dueMs: performance.now() + Math.max(0, next.delayMs) };
  }

  /** No scan starts after this; resolves once the one in flight (if any) has ended. */
  stop(): Promise<void> {
    this.stopped = true;
    this.disarm();
    return this.inFlight ?? Promise.resolve();
  }

  private delayFor(reason: TickReason, nowMs: number): number {
    return reason === 'hint' ? this.pacer.delayMs(nowMs) : 0;
  }

  private disarm(): void {
    if (this.timer === null) return;
    if (this.timer.immediate) clearImmediate(this.timer.handle as NodeJS.Immediate);
    else clearTimeout(this.timer.handle as NodeJS.Timeout);
    this.timer = null;
  }
}
