/**
 * The watcher's shapes: its options and the events it emits (types only).
 */
import type { ChangeWatchStats } from '../sources/source.js';
import type { Listener, PortEvent } from '../listener.js';
import type { ScanOptions } from '../scan.js';
import type { Hint, Trigger, TriggerChoice } from '../triggers/trigger.js';

/**
 * A listener announced before (in `ready` or an `open`) that is now known better: a
 * PortWatcher found its owner after announcing it (an owner search still running when a new
 * listener was to be reported, or an owner found by a later look), a HostWatcher named its
 * container late.
 * Same socket, same key: replace what you keep of it.
 */
export interface UpdateEvent {
  type: 'update';
  time: string;
  listener: Listener;
}

export interface ChangeEvent {
  time: string;
  opened: Listener[];
  closed: Listener[];
}

export interface WatchOptions extends ScanOptions {
  /** Fixed scan interval in ms. Without it the watcher keeps its ticks' CPU under `cpuBudget`. */
  interval?: number;
  /** Fraction of one core the watcher's periodic ticks may spend (default 0.003). */
  cpuBudget?: number;
  /** Bounds for the chosen interval (defaults 100 ms and 5 s). */
  minInterval?: number;
  maxInterval?: number;
  /**
   * When to look: `auto` (default) takes kernel events through tracefs as root and polls
   * otherwise; `tracefs` insists (throws ESOURCE_UNAVAILABLE where it cannot work); `poll`
   * only polls. A `Trigger` object plugs in one of your own.
   */
  trigger?: TriggerChoice | Trigger;
  /** Only these listeners are listed and announced. */
  filter?: (listener: Listener) => boolean;
  /** Stop when this signal aborts. */
  signal?: AbortSignal;
  /** Keep the Node.js process alive while watching (default false). */
  persistent?: boolean;
}

/** What asked for a scan: the start, the timer, a trigger's hint, or rescan(). */
export type TickReason = 'first' | 'timer' | 'hint' | 'rescan';

/** Emitted after every successful scan: what it cost and what it saw (for metrics). */
export interface ScanEvent {
  source: string;
  /** The trigger in use: 'tracefs' or 'poll'. */
  trigger: string;
  reason: TickReason;
  durationMs: number;
  listeners: number;
}

/** Emitted after every tick, for diagnostics (`--log-level debug`). */
export interface TickEvent {
  reason: TickReason;
  trigger: string;
  source: string;
  /** The scan's error message when it failed. */
  error: string | null;
  listeners: number | null;
  /** Wall time of the scan, owner attribution included. */
  scanMs: number | null;
  /** The watcher's own CPU for this tick, as charged to the budget; null when not periodic (first scan, hinted scan, owner walk, failure). */
  costMs: number | null;
  /** The schedule's estimate of one periodic tick's cost. */
  estimateMs: number;
  /**
   * Delay until the next scan: on the timer, or, when one was asked for during this one,
   * 0 for rescan() and what is left of the pacing gap for a hint.
   */
  nextMs: number;
  /** The pacing gap between hinted scans now (ms): their median cost over their CPU budget, bounded. */
  gapMs: number;
  /** Walks of /proc/<pid>/fd this scan made to find owners. */
  walks: number;
  /**
   * Sockets whose owner search goes on after this scan (it ran past its patience when a
   * listener may have appeared): announced without an owner, their owners follow as `update`.
   */
  ownersPending: number;
  /** The hints that asked for this scan (at most 16). */
  hints: Hint[];
  /** When polling off the main thread: its looks, changes seen, chosen interval and last cost (µs); null otherwise. */
  poller: ChangeWatchStats | null;
}

export type PortWatcherEvents = {
  ready: [listeners: Listener[]];
  scan: [scan: ScanEvent];
  tick: [tick: TickEvent];
  open: [event: PortEvent];
  close: [event: PortEvent];
  update: [event: UpdateEvent];
  change: [change: ChangeEvent];
  error: [error: Error];
};
