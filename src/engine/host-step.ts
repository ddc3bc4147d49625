/**
 * One step of HostWatcher (which decides when a step runs): where to look, looking, telling
 * what changed, and pricing each part for the budget it counts against.
 *
 * Where: the namespaces events named (host-hints.ts), new namespaces and those where a
 * process just started (a look for namespaces, when asked for or due within its budget:
 * refreshDue), and then every namespace (after a rescan, a lost event or an unplaceable one)
 * or, on a timer step, what the sweep plans (host-sweep.ts). Probes first, then reads.
 * Every part is priced on the lesser of wall and CPU time (costSince), so the budgets hold
 * on a loaded machine too: timer steps' reads and probes go to the sweep, hinted steps to the
 * hint pacer, looks for namespaces to their own. Owner walks are left out of the sweep's
 * price: they are paid once per new listener, not per sweep.
 */
import type { HintPacer } from '../watch/hint-pacing.js';
import type { Emitter } from './host-emitter.js';
import type { HintQueue } from './host-hints.js';
import type { HostScanner, HostScanResult } from './host-scanner.js';
import { makeLooks, refreshDue, Sweep, type Look, type Pace } from './host-sweep.js';
import type { HostTickEvent } from './host-watch-types.js';
import { costSince, cpuMs } from './step-cost.js';

export type StepReason = HostTickEvent['reason'];

export interface StepParts {
  scanner: HostScanner;
  out: Emitter;
  /** Where events' tasks were (filled by the watcher's trigger). */
  hints: HintQueue;
  /** Prices hinted steps (the watcher asks it how long to wait before one). */
  pacer: HintPacer;
  /** The watcher was closed: whatever a step awaited, it tells nothing more. */
  closed(): boolean;
  /** A look was made: the watcher's `scan` event. */
  scanned(reason: StepReason, durationMs: number): void;
}

export class HostStep {
  private readonly sweep: Sweep;
  private pace: Pace;
  private lastRefreshMs = Number.NEGATIVE_INFINITY;
  private refreshSoon = false;
  /** What the last refresh cost (ms, the lesser of wall and CPU). */
  private refreshCostMs = 0;
  private probeAll = false;
  private readonly opening = new Set<string>();

  constructor(
    private readonly parts: StepParts,
    pace: Pace,
  ) {
    this.pace = pace;
    this.sweep = new Sweep(pace);
  }

  /** Between two timer steps, ms. */
  get tickMs(): number {
    return this.pace.tickMs;
  }

  /** The trigger changed (tracefs stopped: polling). */
  setPace(pace: Pace): void {
    this.pace = pace;
    this.sweep.setPolicy(pace);
  }

  /** The next step probes every namespace, and first looks for new ones when `refresh`. */
  request(refresh: boolean): void {
    if (refresh) this.refreshSoon = true;
    this.probeAll = true;
  }

  async run(reason: StepReason): Promise<void> {
    const { scanner, out, pacer } = this.parts;
    const wall = performance.now();
    const cpu = cpuMs();
    const time = new Date().toISOString();
    // Until the first look succeeded, every step is that first look (a failure retries on the next tick).
    if (!out.isReady) return this.first(time);
    if (reason === 'hint') pacer.started(wall);
    const placed = this.parts.hints.place(scanner);
    const toRead = placed.read;
    const likely = placed.likely;
    for (const netns of placed.opened) this.opening.add(netns);
    if (placed.everywhere) this.probeAll = true;
    if (this.refreshSoon || refreshDue(this.pace, this.lastRefreshMs, this.refreshCostMs, wall)) this.refresh(time, wall, toRead);
    const refreshedMs = costSince(wall, cpu);
    let looks: Look[] = [];
    if (this.probeAll) looks = scanner.netnsList().map((netns) => ({ netns, kind: 'probe' }));
    else if (reason === 'timer') {
      this.sweep.accrue(wall);
      looks = this.sweep.plan(wall, (n) => scanner.hasProbe(n));
    }
    this.probeAll = false;
    // Probes are priced on wall time: CPU time is accounted in ticks on many kernels.
    const probeStarted = performance.now();
    const probed = makeLooks(looks, this.sweep, (n) => scanner.probe(n), toRead);
    const probeMs = performance.now() - probeStarted;
    const result = toRead.size > 0 ? await this.read(toRead, likely, time, reason) : null;
    if (this.parts.closed()) return;
    const costMs = costSince(wall, cpu);
    // Owner walks are paid once per new listener, not per sweep (as PortWatcher prices its ticks).
    const readsMs = Math.max(0, costMs - (result?.attributionMs ?? 0) - refreshedMs - probeMs);
    if (result !== null) this.sweep.priceReads(result.scanned, readsMs, performance.now(), reason === 'timer');
    if (reason === 'timer') {
      this.sweep.spend(readsMs + probeMs);
      if (probed > 0) this.sweep.probeCost.record(probeMs / probed);
    } else if (reason === 'hint') pacer.record(costMs);
    out.flush(time);
  }

  private async first(time: string): Promise<void> {
    const { scanner, out } = this.parts;
    this.refresh(time, performance.now(), new Set(), true);
    const result = await scanner.scan('all');
    if (this.parts.closed()) return;
    out.first(scanner.listeners());
    this.parts.scanned('first', result.durationMs);
    for (const netns of result.failed) out.failed(netns, scanner.namespace(netns)?.problem ?? null);
  }

  /** Looks for namespaces; closes the gone ones (their listeners first), holds the new ones and reads them. */
  private refresh(time: string, nowMs: number, toRead: Set<string>, initial = false): void {
    const { scanner, out } = this.parts;
    this.refreshSoon = false;
    this.lastRefreshMs = nowMs;
    const cpu = cpuMs();
    const r = scanner.refresh();
    this.refreshCostMs = costSince(nowMs, cpu);
    for (const { namespace, listeners } of r.closed) out.namespaceClosed(time, namespace, listeners);
    for (const netns of r.opened) {
      if (!initial) this.opening.add(netns);
      toRead.add(netns);
    }
    // A process that just started there: read it (a restarted server's new listener can leave the
    // probe's counts as they were), and probe it first for a while (it may listen soon).
    for (const netns of r.touched) {
      this.sweep.heat(netns, nowMs);
      if (!initial && this.sweep.mayRead(netns, nowMs)) toRead.add(netns);
    }
    if (r.opened.length > 0 || r.closed.length > 0 || initial) this.sweep.setNamespaces(scanner.netnsList(), nowMs);
  }

  /** Reads the namespaces and tells what changed. */
  private async read(toRead: Set<string>, likely: number[], time: string, reason: StepReason): Promise<HostScanResult> {
    const { scanner, out } = this.parts;
    const result = await scanner.scan(toRead, likely);
    if (this.parts.closed()) return result;
    const now = performance.now();
    for (const netns of this.opening) {
      if (!toRead.has(netns)) continue;
      this.opening.delete(netns);
      const info = scanner.namespace(netns);
      if (info !== null) out.namespaceOpened(time, info);
    }
    const changed = out.diff(time, result.scanned);
    for (const netns of changed) this.sweep.heat(netns, now);
    for (const netns of result.failed) out.failed(netns, scanner.namespace(netns)?.problem ?? null);
    this.parts.scanned(reason, result.durationMs);
    return result;
  }
}
