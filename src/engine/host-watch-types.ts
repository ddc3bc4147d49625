/** The host watcher's options and events (types only). */
import type { Listener, ListenerContainer, PortEvent } from '../listener.js';
import type { Trigger, TriggerChoice } from '../triggers/trigger.js';
import type { ChangeEvent, ScanEvent, UpdateEvent } from '../watch/watch-types.js';
import type { HostScannerOptions } from './host-types.js';

export type { UpdateEvent } from '../watch/watch-types.js';

export interface HostWatchOptions extends HostScannerOptions {
  /** When to look: `auto` (tracefs as root, else polling), `tracefs`, `poll`, or a Trigger of your own. */
  trigger?: TriggerChoice | Trigger;
  /**
   * Fraction of one core the periodic sweep over namespaces may spend (default 0.015 when
   * polling, 0.004 under tracefs, where the sweep is only a safety net for what makes no event).
   */
  cpuBudget?: number;
  /** How often the namespaces themselves are looked for, ms (default 1000 polling, 2000 under tracefs). */
  refreshMs?: number;
  /** Only these listeners are listed and announced (namespace events are not filtered). */
  filter?: (listener: Listener) => boolean;
  signal?: AbortSignal;
  /** Keep the Node.js process alive while watching (default false). */
  persistent?: boolean;
}

export type NamespaceEventType = 'namespace-open' | 'namespace-close';

/** A network namespace appeared or went away. Its listeners open after `namespace-open` and close before `namespace-close`. */
export interface NamespaceEvent {
  type: NamespaceEventType;
  /** ISO 8601 time of the look that saw it. */
  time: string;
  /** The namespace's inode, as Listener.netns writes it. */
  netns: string;
  /** The one container all its processes are in; null on the host or when several share it (a pod). */
  container: ListenerContainer | null;
}

/** After every step of the watcher (a look at some or all namespaces), for those who wait on fresh looks. */
export interface HostTickEvent {
  reason: 'first' | 'timer' | 'hint' | 'rescan';
  /** The step's number: `HostWatcher.steps` counted it when it started. */
  step: number;
  /** What made the step fail, or null. */
  error: Error | null;
}

export type HostWatcherEvents = {
  ready: [listeners: Listener[]];
  open: [event: PortEvent];
  close: [event: PortEvent];
  update: [event: UpdateEvent];
  change: [change: ChangeEvent];
  'namespace-open': [event: NamespaceEvent];
  'namespace-close': [event: NamespaceEvent];
  scan: [scan: ScanEvent];
  tick: [tick: HostTickEvent];
  error: [error: Error];
};
