/**
 * The interval policy: how long to wait before the next scan on the timer. By default the
 * watcher spends at most `cpuBudget` of one core on its periodic ticks, never faster than
 * `minMs` nor slower than `maxMs`. A failing scan backs off exponentially (up to `maxMs`)
 * and the first good scan resets it. Every trigger uses it: under polling it is the only
 * clock; under tracefs it paces the safety net and the error back-off.
 *
 * A tick is priced on the watcher's own work only: the scan, the diff and the events it
 * emits, measured from the tick's start to its end. What the process does between ticks
 * is never charged: in a library the host program's work is not the watcher's (a busy
 * loop, serve's metrics, mcp's transport), and charging it would slow detection exactly
 * when the host is busy. Within a tick nothing else runs on the main thread (a scan
 * without an owner walk yields to microtasks only), so its wall time bounds the tick's
 * CPU from above, and so does the process CPU; the smaller of the two drops both the
 * other threads' CPU (GC helpers, the host's workers) and time the OS spent elsewhere.
 *
 * Not every tick is periodic: the first one (a cold start, the `ready` handlers), any that
 * walked /proc for owners or found changes (paid per new listener, not per tick), and those a
 * trigger's hint asked for (priced by the hint pacer) are left out: under churn the interval
 * stays where quiet ticks put it, so the watcher's CPU follows the work instead of missing it. The
 * estimate is the median of recent periodic ticks, so one garbage collection that lands
 * in a tick does not stall detection, and a lasting change shows within five ticks.
 */
export interface SchedulePolicy {
  /** Fixed interval in ms; when set, the budget is not used (errors still back off). */
  fixedMs?: number;
  /** Fraction of one core, e.g. 0.005 = 0.5 %. */
  cpuBudget: number;
  minMs: number;
  maxMs: number;
}

/** 0.3 % of one core: what the ticks themselves may cost. */
export const DEFAULT_POLICY: SchedulePolicy = { cpuBudget: 0.003, minMs: 100, maxMs: 5_000 };

/** What the watcher read around one tick. */
export interface TickReadings {
  /** Process CPU time (user + system, ms) at the tick's start and at its end. */
  cpuStartMs: number;
  cpuEndMs: number;
  /** Monotonic clock (ms) at the tick's start and at its end. */
  wallStartMs: number;
  wallEndMs: number;
  /** The part of the tick spent finding owners of sockets not seen before (paid per new listener). */
  attributionMs: number;
  /** The source spawned a program (ss), whose CPU is not in ours: wall time bounds it. */
  spawned: boolean;
  /**
   * False for ticks that are not periodic cost: the first scan, scans a hint asked for, scans
   * that found changes (their events are paid per change), and scans that walked /proc for owners.
   */
  periodic: boolean;
}

/** The CPU a whole tick cost the watcher, owner walks included, in ms. */
export function tickWorkMs(t: TickReadings): number {
  const wall = t.wallEndMs - t.wallStartMs;
  return Math.max(0, t.spawned ? wall : Math.min(wall, t.cpuEndMs - t.cpuStartMs));
}

/** The CPU a tick cost the watcher itself, owner walks left out, in ms. */
export function ownTickCostMs(t: TickReadings): number {
  return Math.max(0, tickWorkMs(t) - t.attributionMs);
}

const WINDOW = 9;

export class Schedule {
  private readonly costs: number[] = [];
  private failures = 0;

  constructor(private readonly policy: SchedulePolicy = DEFAULT_POLICY) {}

  /** Records a successful tick; returns the cost charged to the budget, or null when it was not periodic. */
  record(tick: TickReadings): number | null {
    this.failures = 0;
    if (!tick.periodic) return null;
    const cost = ownTickCostMs(tick);
    this.costs.push(cost);
    if (this.costs.length > WINDOW) this.costs.shift();
    return cost;
  }

  failed(): void {
    this.failures++;
  }

  /** The last scan failed: the next waits for the back-off. */
  get failing(): boolean {
    return this.failures > 0;
  }

  /** Estimated CPU of one periodic tick, in ms (0 before any was measured). */
  tickCostMs(): number {
    if (this.costs.length === 0) return 0;
    const sorted = [...this.costs].sort((a, b) => a - b);
    return sorted[Math.floor((sorted.length - 1) / 2)] as number;
  }

  /**
   * Milliseconds until the next scan on the timer. `atLeastMs` is a trigger's safety-net
   * pace (tracefs: the kernel tells about changes, the timer only catches what it cannot);
   * the ceiling still wins, and a fixed interval ignores it.
   */
  nextDelayMs(atLeastMs = 0): number {
    const { fixedMs, cpuBudget, minMs, maxMs } = this.policy;
    const base = fixedMs ?? Math.min(maxMs, Math.max(minMs, this.tickCostMs() / cpuBudget, Math.min(atLeastMs, maxMs)));
    if (this.failures === 0) return base;
    return Math.min(Math.max(base, maxMs), base * 2 ** this.failures);
  }
}
