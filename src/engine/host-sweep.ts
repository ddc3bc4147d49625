/**
 * Which namespaces a polling host watcher looks at on each tick, within a CPU budget. Pure
 * (time and costs are given to it).
 *
 * Looking at a namespace is a probe (its sockstat counts, ~10–20 µs) when it has one, else a
 * read (sock_diag, ~150 µs; /proc/<pid>/net/tcp*, milliseconds). Each tick may spend what
 * the budget accrued since the last one (a token bucket, capped at two seconds' worth);
 * namespaces are taken hot ones first (a change seen there lately, or a process that just
 * started in it: busiest first), then round-robin, so every namespace is looked at within
 * (namespaces × cost / budget). A probe cannot see one socket closing while another opens
 * between two looks, so each namespace is also read now and then (`readEveryMs`), budget
 * permitting. No namespace may take more than FAIR_SHARE of the budget with reads: one whose
 * counts change all the time (a busy server's connections) and whose read is dear (thousands
 * of sockets) is read less often, and the others are still looked at.
 */
export interface SweepPolicy {
  /** Fraction of one core the sweep may spend, e.g. 0.015. */
  budget: number;
  /** Each namespace is read (not only probed) at least this often, budget permitting. */
  readEveryMs: number;
  /** How long a namespace stays hot after a change or a new process. */
  hotMs: number;
}

/** How a host watcher paces itself: under tracefs the sweep is only a safety net. */
export interface Pace extends SweepPolicy {
  /** Between two sweep ticks, ms. */
  tickMs: number;
  /** Between two looks for namespaces, ms (at least; see host-step.ts). */
  refreshMs: number;
  /**
   * Fraction of one core the looks for namespaces may take (on a host whose processes come
   * and go all the time, each lists /proc). Under tracefs a task's event names its namespace
   * at once, so these looks only catch namespaces that went away, and mounts: less.
   */
  refreshBudget: number;
}

/**
 * The pace for a trigger: polling 1 % of a core every 100 ms, 0.3 % for looks for
 * namespaces; tracefs 0.4 % every 500 ms, 0.15 % for looks for namespaces.
 */
export function pacing(tracefs: boolean, options: { cpuBudget?: number; refreshMs?: number } = {}): Pace {
  return {
    budget: options.cpuBudget ?? (tracefs ? 0.004 : 0.01),
    readEveryMs: tracefs ? 300_000 : 120_000,
    hotMs: 5_000,
    tickMs: tracefs ? 500 : 100,
    refreshMs: options.refreshMs ?? (tracefs ? 2_000 : 1_000),
    refreshBudget: tracefs ? 0.0015 : 0.003,
  };
}

export type LookKind = 'probe' | 'read';

export interface Look {
  netns: string;
  kind: LookKind;
}

const WINDOW = 15;
const BUCKET_SECONDS = 2;
const FAIR_SHARE = 0.25;

/** Median of recent costs, with a prior until some are measured. */
class Cost {
  private readonly samples: number[] = [];
  constructor(private readonly prior: number) {}
  record(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    this.samples.push(ms);
    if (this.samples.length > WINDOW) this.samples.shift();
  }
  get value(): number {
    if (this.samples.length === 0) return this.prior;
    const sorted = [...this.samples].sort((a, b) => a - b);
    return sorted[Math.floor((sorted.length - 1) / 2)] as number;
  }
}

export class Sweep {
  private order: string[] = [];
  private cursor = 0;
  private readonly hot = new Map<string, number>();
  private readonly lastRead = new Map<string, number>();
  /** What one read of each namespace cost last time (ms). */
  private readonly readCostOf = new Map<string, number>();
  /** Namespaces a probe saw change that could not be read yet (fair share). */
  private readonly deferred = new Set<string>();
  private tokens = 0;
  private lastMs: number | null = null;
  readonly probeCost = new Cost(0.03);
  readonly readCost = new Cost(0.2);

  constructor(private policy: SweepPolicy) {}

  /** A new policy from now on (the trigger failed: polling takes over). */
  setPolicy(policy: SweepPolicy): void {
    this.policy = policy;
  }

  /** The namespaces to sweep, in a stable order; `probing` says which have a probe. */
  setNamespaces(netns: readonly string[], nowMs: number): void {
    const at = this.order[this.cursor];
    this.order = [...netns];
    const i = at === undefined ? -1 : this.order.indexOf(at);
    this.cursor = i < 0 ? 0 : i;
    const live = new Set(netns);
    for (const n of this.hot.keys()) if (!live.has(n)) this.hot.delete(n);
    for (const n of this.lastRead.keys()) if (!live.has(n)) this.lastRead.delete(n);
    for (const n of this.readCostOf.keys()) if (!live.has(n)) this.readCostOf.delete(n);
    for (const n of this.deferred) if (!live.has(n)) this.deferred.delete(n);
    // Staggered, so that the periodic reads come a few at a time rather than all at once.
    for (const n of netns) if (!this.lastRead.has(n)) this.lastRead.set(n, nowMs - this.stagger(n));
  }

  /** A fixed offset in [0, readEveryMs) per namespace (its inode spread by a prime; 0 for other names). */
  private stagger(netns: string): number {
    const n = Number(netns);
    return Number.isSafeInteger(n) ? (n * 7919) % this.policy.readEveryMs : 0;
  }

  /** Something happened in `netns` (a change, a new process): look at it first for a while. */
  heat(netns: string, nowMs: number): void {
    this.hot.set(netns, nowMs + this.policy.hotMs);
  }

  /** `netns` was read (by a hint, or by this sweep) at `nowMs`; `costMs`: what that read cost, when known. */
  wasRead(netns: string, nowMs: number, costMs?: number): void {
    this.lastRead.set(netns, nowMs);
    this.deferred.delete(netns);
    if (costMs !== undefined && Number.isFinite(costMs) && costMs >= 0) this.readCostOf.set(netns, costMs);
  }

  /**
   * A probe saw `netns` change: may it be read now? Not when that would give it more than its
   * fair share of the budget; then it is read by a later plan(), as soon as it may.
   */
  mayRead(netns: string, nowMs: number): boolean {
    const cost = this.readCostOf.get(netns) ?? this.readCost.value;
    const spacing = cost / (this.policy.budget * FAIR_SHARE);
    if (nowMs - (this.lastRead.get(netns) ?? Number.NEGATIVE_INFINITY) >= spacing) return true;
    this.deferred.add(netns);
    return false;
  }

  /**
   * What each namespace read cost, all told (the read, building its listeners, the diff, the
   * events and their handlers): `readsMs`, the step's cost of its reads, shared by each one's
   * read time. The fair share is priced on it: a namespace of a thousand churning listeners
   * costs far more than its netlink read. A sweep's reads (`timer`) also price reads to come.
   */
  priceReads(scanned: readonly { netns: string; readMs: number }[], readsMs: number, nowMs: number, timer: boolean): void {
    const total = scanned.reduce((sum, s) => sum + s.readMs, 0);
    for (const s of scanned) this.wasRead(s.netns, nowMs, total > 0 ? (readsMs * s.readMs) / total : readsMs / scanned.length);
    if (timer && scanned.length > 0) this.readCost.record(readsMs / scanned.length);
  }

  /** Adds what the budget accrued since the last call; returns the tokens (ms of CPU) to spend. */
  accrue(nowMs: number): number {
    const { budget } = this.policy;
    if (this.lastMs !== null && nowMs > this.lastMs) this.tokens += (nowMs - this.lastMs) * budget;
    this.lastMs = nowMs;
    this.tokens = Math.min(this.tokens, BUCKET_SECONDS * 1000 * budget);
    return this.tokens;
  }

  /** Spends `ms` of CPU (what a tick really cost; may go below zero: the next ticks wait). */
  spend(ms: number): void {
    if (Number.isFinite(ms) && ms > 0) this.tokens -= ms;
  }

  /**
   * What to look at now, within the tokens: hot namespaces, then round-robin. `hasProbe`
   * says which namespaces can be probed; the others are read.
   */
  plan(nowMs: number, hasProbe: (netns: string) => boolean): Look[] {
    const looks: Look[] = [];
    const taken = new Set<string>();
    let left = this.tokens;
    const take = (netns: string): boolean => {
      if (taken.has(netns)) return true;
      const overdue = nowMs - (this.lastRead.get(netns) ?? nowMs) >= this.policy.readEveryMs;
      const kind: LookKind = hasProbe(netns) && !overdue ? 'probe' : 'read';
      const cost = kind === 'probe' ? this.probeCost.value : this.readCost.value;
      if (cost > left && looks.length > 0) return false;
      if (cost > left && left <= 0) return false;
      left -= cost;
      taken.add(netns);
      looks.push({ netns, kind });
      return true;
    };
    for (const netns of this.deferred) {
      if (!this.mayRead(netns, nowMs)) continue;
      const cost = this.readCostOf.get(netns) ?? this.readCost.value;
      if (cost > left && looks.length > 0) break;
      left -= cost;
      taken.add(netns);
      looks.push({ netns, kind: 'read' });
    }
    for (const [netns, until] of this.hot) {
      if (until < nowMs) this.hot.delete(netns);
      else if (!take(netns)) return looks;
    }
    for (let n = 0; n < this.order.length; n++) {
      const netns = this.order[this.cursor] as string;
      if (!take(netns)) break;
      this.cursor = (this.cursor + 1) % this.order.length;
    }
    return looks;
  }
}

/**
 * Makes the looks: reads are added to `toRead`; probes that saw a change are too, when the
 * namespace may be read now (its fair share; else it is read by a later plan). A namespace
 * that cannot be probed (`probe` gives null) is read. Returns how many probes were made.
 */
export function makeLooks(looks: readonly Look[], sweep: Sweep, probe: (netns: string) => boolean | null, toRead: Set<string>): number {
  let probes = 0;
  for (const { netns, kind } of looks) {
    if (kind === 'read') {
      toRead.add(netns);
      continue;
    }
    probes++;
    const changed = probe(netns);
    if (changed === null || (changed && sweep.mayRead(netns, performance.now()))) toRead.add(netns);
  }
  return probes;
}

/** The slowest pace of looks for namespaces. */
const REFRESH_MAX_MS = 10_000;

/**
 * Is a look for namespaces due? Every `refreshMs`, or less often when the last one cost more
 * than `refreshBudget` of a core (a host starting processes all the time), never less often
 * than REFRESH_MAX_MS. This has its own budget: process churn must not starve the sweep.
 */
export function refreshDue(pace: Pace, lastMs: number, lastCostMs: number, nowMs: number): boolean {
  return nowMs - lastMs >= Math.min(REFRESH_MAX_MS, Math.max(pace.refreshMs, lastCostMs / pace.refreshBudget));
}
