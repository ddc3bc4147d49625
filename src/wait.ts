/**
 * waitForPort(): resolves as soon as every named port has a listener on any address
 * (127.0.0.1, ::1, 0.0.0.0, ::, a specific IP). It reads the socket table instead of
 * probing with connect(), so a server on ::1 only is found even where `localhost`
 * resolves to 127.0.0.1, and the server sees no probe connections. It is waitForTargets()
 * (wait-for-targets.ts, what `portwatch wait` runs) with plain ports as the targets.
 */
import { PortwatchError } from './errors.js';
import type { Listener, Protocol } from './listener.js';
import type { ScanOptions } from './scan.js';
import type { Trigger, TriggerChoice } from './triggers/trigger.js';
import type { TickEvent } from './watch/watch-types.js';
import { waitForTargets } from './wait-for-targets.js';
import type { PortTarget } from './wait-targets.js';

export interface WaitOptions extends ScanOptions {
  /** Give up after this many ms (default: wait forever). */
  timeout?: number;
  /** Only count listeners of this protocol (default: tcp). */
  protocol?: Protocol | 'any';
  signal?: AbortSignal;
  /** Fixed scan interval in ms (default: the watcher's own policy). */
  interval?: number;
  /** When to look (default 'auto': kernel events through tracefs as root, polling otherwise). */
  trigger?: TriggerChoice | Trigger;
  /**
   * Wait for the ports to be free instead: resolves (with []) once none of them listens, e.g.
   * for a server to finish shutting down before it is started again (wait-on's --reverse).
   */
  closed?: boolean;
  /** Called after every scan with the watcher's `tick` (its cost, the interval, owner walks), e.g. for debug logs. */
  onTick?: (tick: TickEvent) => void;
}

function validatePorts(ports: number[]): void {
  if (ports.length === 0) throw new PortwatchError('EUSAGE', 'no port to wait for');
  for (const p of ports) {
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw new PortwatchError('EUSAGE', `invalid port ${String(p)}: use 1-65535`);
  }
}

/** Waits until every port listens (resolving with the listeners found on those ports), or with `closed`, until none does. */
export async function waitForPort(port: number | number[], options: WaitOptions = {}): Promise<Listener[]> {
  const ports = [...new Set(Array.isArray(port) ? port : [port])];
  validatePorts(ports);
  const { protocol: asked, ...rest } = options;
  const protocol = asked ?? 'tcp'; // null too, as before, from JavaScript
  const targets = ports.map((p): PortTarget => ({ kind: 'port', text: String(p), protocol, host: null, port: p }));
  return (await waitForTargets(targets, rest)).listeners;
}
