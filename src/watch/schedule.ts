/**
 * The interval policy: how long to wait before the next scan. By default the watcher
 * spends at most `cpuBudget` of one core, judged from what its ticks measurably cost,
 * never faster than `minMs` nor slower than `maxMs`. A failing scan backs off
 * exponentially (up to `maxMs`) and the first good scan resets it.
 *
 * A tick costs more than its scan: waking a Node process from a timer, diffing, emitting
 * and collecting garbage cost CPU too (~0.3 ms a tick on a small VM, more than a netlink
 * scan). So the cost of a tick is the measured cost of its scan plus the mean CPU the
 * process spent between the end of one scan and the start of the next over recent quiet
 * ticks (the watcher only reports gaps after ticks that changed nothing: what a change
 * causes is paid per change, like owner attribution), each gap capped at 3 ms: in a
 * library, a host program's own work is not the watcher's, and must not be able to slow
 * detection much.
 */
export interface SchedulePolicy {
  /** Fixed interval in ms; when set, the budget is not used (errors still back off). */
  fixedMs?: number;
  /** Fraction of one core, e.g. 0.005 = 0.5 %. */
  cpuBudget: number;
  minMs: number;
  maxMs: number;
}

/**
 * 0.3 % of one core by default. Capped gaps (large garbage collections) and retried owner
 * walks keep part of the process's real cost out of the estimate (measured from outside,
 * an idle `portwatch watch` was charged 0.51-0.57 % at a 0.4 % budget and 0.44-0.47 % at
 * 0.3 %), so the budget leaves that margin under the 0.5 % target.
 */
export const DEFAULT_POLICY: SchedulePolicy = { cpuBudget: 0.003, minMs: 100, maxMs: 5_000 };

const WAKE_WINDOW = 16;
const WAKE_CAP_MS = 3;

export class Schedule {
  private costMs: number | null = null;
  private failures = 0;
  private readonly wakeCosts: number[] = [];

  constructor(private readonly policy: SchedulePolicy = DEFAULT_POLICY) {}

  /** Records a successful scan that took `costMs` of work. */
  succeeded(costMs: number): void {
    this.failures = 0;
    // Exponentially weighted, so one slow scan (a cold cache, a busy machine) does not stall detection.
    this.costMs = this.costMs === null ? costMs : this.costMs * 0.8 + costMs * 0.2;
  }

  failed(): void {
    this.failures++;
  }

  /** Records the CPU the process spent between the end of one scan and the start of the next. */
  between(cpuMs: number): void {
    this.wakeCosts.push(Math.min(Math.max(cpuMs, 0), WAKE_CAP_MS));
    if (this.wakeCosts.length > WAKE_WINDOW) this.wakeCosts.shift();
  }

  /** Estimated CPU of one tick in ms: scan cost plus the rest of the tick. */
  tickCostMs(): number {
    const n = this.wakeCosts.length;
    const wake = n === 0 ? 0 : this.wakeCosts.reduce((a, b) => a + b, 0) / n;
    return (this.costMs ?? 0) + wake;
  }

  /** Milliseconds until the next scan. */
  nextDelayMs(): number {
    const { fixedMs, cpuBudget, minMs, maxMs } = this.policy;
    const base = fixedMs ?? Math.min(maxMs, Math.max(minMs, this.tickCostMs() / cpuBudget));
    if (this.failures === 0) return base;
    return Math.min(Math.max(base, maxMs), base * 2 ** this.failures);
  }
}
