/**
 * The interval policy: how long to wait before the next scan. By default the watcher
 * spends at most `cpuBudget` of one core on scanning, judged from the measured cost of
 * its own scans, never faster than `minMs` nor slower than `maxMs`. A failing scan backs
 * off exponentially (up to `maxMs`) and the first good scan resets it.
 */
export interface SchedulePolicy {
  /** Fixed interval in ms; when set, the budget is not used (errors still back off). */
  fixedMs?: number;
  /** Fraction of one core, e.g. 0.005 = 0.5 %. */
  cpuBudget: number;
  minMs: number;
  maxMs: number;
}

export const DEFAULT_POLICY: SchedulePolicy = { cpuBudget: 0.005, minMs: 100, maxMs: 5_000 };

export class Schedule {
  private costMs: number | null = null;
  private failures = 0;

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

  /** Milliseconds until the next scan. */
  nextDelayMs(): number {
    const { fixedMs, cpuBudget, minMs, maxMs } = this.policy;
    const base = fixedMs ?? Math.min(maxMs, Math.max(minMs, (this.costMs ?? 0) / cpuBudget));
    if (this.failures === 0) return base;
    return Math.min(Math.max(base, maxMs), base * 2 ** this.failures);
  }
}
