/**
 * Pacing of the scans a trigger's hints ask for. A kernel event arrives ~0.3 ms after a
 * listen(), so a scan per event is what makes detection take milliseconds; but under churn
 * (a test suite opening and closing hundreds of listeners a second) a scan per event means
 * scans back to back, each rereading the whole table, and a core spent on it.
 *
 * So hinted scans are paced by a small token bucket: after a quiet moment a few start at
 * once (a TCP server's bind() and listen() are two events, and the first scan, asked for by
 * the bind, comes too early to see the listener), and under a steady stream of events one
 * starts per *gap*; every hint that arrives meanwhile rides on the next scan. The gap is
 * priced like the poll interval: the median cost of recent ticks divided by a CPU budget,
 * so hinted scans spend about `budget` of one core whatever the event rate, within
 * `minGapMs` (scans/s bounded even when scans are cheap) and `maxGapMs`: a listener that
 * lives longer than the longest gap (plus one scan) is always seen. When scans cost more than
 * the budget allows at that pace (hundreds of listeners opening a second), seeing every
 * listener wins over the budget: then the CPU follows the cost of a scan, 40 a second.
 */
export interface HintPacingPolicy {
  /** Fraction of one core that scans asked for by hints may spend, e.g. 0.05 = 5 %. */
  budget: number;
  /** Least time between the starts of two scans when hints keep coming, ms. */
  minGapMs: number;
  /** Greatest: a listener living longer than this (plus a scan) is always seen. */
  maxGapMs: number;
  /** Scans that may start at once after a quiet moment (the bucket's size). */
  burst: number;
}

/**
 * 5 % of a core; at most 100 scans/s; at least 40/s while events come, so a listener living
 * 50 ms is seen even when a scan or the event loop runs 20 ms late; 3 at once after quiet.
 */
export const DEFAULT_HINT_PACING: HintPacingPolicy = { budget: 0.05, minGapMs: 10, maxGapMs: 25, burst: 3 };

const WINDOW = 5;

export class HintPacer {
  private readonly costs: number[] = [];
  /** The gap for the costs recorded so far (recomputed when one is recorded, not per hint). */
  private gap: number;
  /** Scans that may start now without waiting; refilled at one per gap, up to `burst`. */
  private tokens: number;
  private refilledAtMs: number | null = null;

  constructor(private readonly policy: HintPacingPolicy = DEFAULT_HINT_PACING) {
    this.tokens = policy.burst;
    this.gap = policy.minGapMs;
  }

  /** A scan (for whatever reason: every scan reads the whole table) started at `nowMs` (monotonic). */
  started(nowMs: number): void {
    this.refill(nowMs);
    this.tokens = Math.max(0, this.tokens - 1);
  }

  /** What a tick after the first cost the watcher (CPU ms, owner walks included: they are work the hint caused). */
  record(costMs: number): void {
    if (!Number.isFinite(costMs) || costMs < 0) return;
    this.costs.push(costMs);
    if (this.costs.length > WINDOW) this.costs.shift();
    const { budget, minGapMs, maxGapMs } = this.policy;
    const sorted = [...this.costs].sort((a, b) => a - b);
    const median = sorted[Math.floor((sorted.length - 1) / 2)] as number;
    this.gap = Math.min(maxGapMs, Math.max(minGapMs, median / budget));
  }

  /** The current gap, ms: median recent cost / budget, within [minGapMs, maxGapMs]. */
  gapMs(): number {
    return this.gap;
  }

  /** How long a scan a hint asks for at `nowMs` waits: 0 after a quiet moment, else until a token is back. */
  delayMs(nowMs: number): number {
    this.refill(nowMs);
    return this.tokens >= 1 ? 0 : (1 - this.tokens) * this.gap;
  }

  private refill(nowMs: number): void {
    if (this.refilledAtMs !== null && nowMs > this.refilledAtMs) {
      this.tokens = Math.min(this.policy.burst, this.tokens + (nowMs - this.refilledAtMs) / this.gap);
    }
    if (this.refilledAtMs === null || nowMs > this.refilledAtMs) this.refilledAtMs = nowMs;
  }
}
