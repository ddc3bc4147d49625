/**
 * waitForPort(): resolves as soon as every named port has a listener on any address
 * (127.0.0.1, ::1, 0.0.0.0, ::, a specific IP). It reads the socket table instead of
 * probing with connect(), so a server on ::1 only is found even where `localhost`
 * resolves to 127.0.0.1, and the server sees no probe connections.
 */
import { PortwatchError } from './errors.js';
import { armDeadline } from './wait-deadline.js';
import type { Listener, Protocol } from './listener.js';
import type { ScanOptions, SocketFields } from './scan.js';
import type { Trigger, TriggerChoice } from './triggers/trigger.js';
import type { TickEvent } from './watch/watch-types.js';
import { PortWatcher } from './watch/watcher.js';

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

/**
 * `select` for a consumer that cares about some sockets only: `wanted`, narrowed further by the
 * caller's own `select` when there is one. The scanner then reads no owner of any other
 * socket, so on a busy host the first scan does not walk /proc for listeners nobody asked
 * about. A caller's `select` that is not a function is passed on for the scanner to refuse.
 */
export function selectOnly(wanted: (socket: SocketFields) => boolean, theirs: ScanOptions['select']): ScanOptions['select'] {
  if (theirs === undefined) return wanted;
  if (typeof theirs !== 'function') return theirs;
  return (socket) => wanted(socket) && theirs(socket);
}

function validatePorts(ports: number[]): void {
  if (ports.length === 0) throw new PortwatchError('EUSAGE', 'no port to wait for');
  for (const p of ports) {
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw new PortwatchError('EUSAGE', `invalid port ${String(p)}: use 1-65535`);
  }
}

/** Waits until every port listens (resolving with the listeners found on those ports), or with `closed`, until none does. */
export function waitForPort(port: number | number[], options: WaitOptions = {}): Promise<Listener[]> {
  const ports = [...new Set(Array.isArray(port) ? port : [port])];
  try {
    validatePorts(ports);
  } catch (e) {
    return Promise.reject(e);
  }
  const protocol = options.protocol ?? 'tcp';
  const wanted = new Set(ports);
  const matches = (l: Pick<Listener, 'port' | 'protocol'>): boolean =>
    wanted.has(l.port) && (protocol === 'any' || l.protocol === protocol);

  return new Promise<Listener[]>((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(new PortwatchError('EABORTED', 'waiting was aborted'));
      return;
    }
    let watcher: PortWatcher;
    try {
      const { timeout: _t, protocol: _p, signal: _s, closed: _c, onTick, ...scanOptions } = options;
      // Sockets on other ports are never attributed: their owners cost a walk and answer nothing.
      const select = selectOnly(matches, scanOptions.select);
      watcher = new PortWatcher({ ...scanOptions, select, filter: matches, persistent: true });
      if (onTick !== undefined) watcher.on('tick', onTick);
    } catch (e) {
      reject(e);
      return;
    }
    let disarm = (): void => {};
    let settled = false;
    const finish = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      disarm();
      options.signal?.removeEventListener('abort', onAbort);
      // Answer first: closing waits for a scan in flight (on a busy host the first one walks
      // every /proc/<pid>/fd), which must not push the answer past the deadline; and even its
      // synchronous part (the trigger's teardown) waits until the caller has had the answer.
      outcome();
      setImmediate(() => void watcher.close());
    };
    const onAbort = (): void => finish(() => reject(new PortwatchError('EABORTED', 'waiting was aborted')));
    const closed = options.closed === true;
    const check = (): void => {
      const found = watcher.snapshot();
      const have = new Set(found.map((l) => l.port));
      if (closed ? have.size === 0 : ports.every((p) => have.has(p))) finish(() => resolve(found));
    };
    const timedOut = (timeout: number): void => {
      const have = new Set(watcher.snapshot().map((l) => l.port));
      const pending = ports.filter((p) => (closed ? have.has(p) : !have.has(p)));
      const what = protocol === 'any' ? '' : `${protocol} `;
      const ps = `port${pending.length > 1 ? 's' : ''} ${pending.join(', ')}`;
      const message = closed
        ? `timed out after ${timeout} ms waiting for ${what}${ps} to close`
        : `timed out after ${timeout} ms waiting for ${what}${ps}`;
      finish(() => reject(new PortwatchError('ETIMEOUT', message)));
    };
    if (options.timeout !== undefined) {
      const timeout = options.timeout;
      disarm = armDeadline(
        watcher,
        timeout,
        () => (check(), settled),
        () => timedOut(timeout),
      );
    }
    options.signal?.addEventListener('abort', onAbort, { once: true });
    watcher.on('ready', check);
    watcher.on('change', check);
    watcher.on('error', () => {}); // keep trying: a source may recover before the deadline
  });
}
