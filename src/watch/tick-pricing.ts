/**
 * What one tick is charged: to the hint pacer (the gap between hinted scans) and to the
 * schedule (the poll interval). Only the watcher's own work is priced, and only work that
 * recurs: the first scan, scans that found changes, owner walks and ticks during an owner
 * search that goes on are paid per change, not per tick.
 */
import { performance } from 'node:perf_hooks';
import { cpuMs } from './cpu-time.js';
import type { HintPacer } from './hint-pacing.js';
import { tickWorkMs, type Schedule } from './schedule.js';
import type { TickReason } from './watch-types.js';

export interface TickFacts {
  reason: TickReason;
  /** The watcher's first scan (a cold start, the `ready` handlers). */
  first: boolean;
  /** It opened, closed or updated something. */
  changed: boolean;
  /** It walked /proc/<pid>/fd for owners. */
  walked: boolean;
  /** An owner search went on during it: the process's CPU is then mostly the walk's threads. */
  searching: boolean;
  source: string;
  attributionMs: number;
  cpuStartMs: number;
  wallStartMs: number;
}

/** Charges the tick that just ended; returns the cost charged to the poll budget, or null when it was not periodic. */
export function priceTick(pacer: HintPacer, schedule: Schedule, tick: TickFacts): number | null {
  const readings = {
    cpuStartMs: tick.cpuStartMs,
    cpuEndMs: cpuMs(),
    wallStartMs: tick.wallStartMs,
    wallEndMs: performance.now(),
    attributionMs: tick.attributionMs,
    // CPU of a spawned ss is not ours to read; its wall time bounds it.
    spawned: tick.source === 'ss',
    // Paid per change, not per tick: a hinted scan (priced by the pacer instead), and one
    // that found changes (its events) — under churn polling must not slow down and miss.
    periodic: !tick.first && !tick.changed && tick.reason !== 'hint' && !tick.walked && !tick.searching,
  };
  if (!tick.first && !tick.searching) pacer.record(tickWorkMs(readings));
  return schedule.record(readings);
}
