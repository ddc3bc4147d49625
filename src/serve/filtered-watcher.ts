/**
 * A watcher serve did not start (forward --serve hands it the target's): serve's filter
 * (its own sockets, the rules, --port) applied to its events, as a watcher serve starts
 * applies it to its scans.
 */
import type { Listener, PortEvent } from '../listener.js';
import type { ScanEvent, UpdateEvent } from '../watch/watch-types.js';
import type { ServeWatcher } from './live-state.js';

export function filteredWatcher(inner: ServeWatcher, keep: (l: Listener) => boolean): ServeWatcher {
  function on(event: 'ready', listener: (listeners: Listener[]) => void): unknown;
  function on(event: 'open' | 'close', listener: (event: PortEvent) => void): unknown;
  function on(event: 'update', listener: (event: UpdateEvent) => void): unknown;
  function on(event: 'scan', listener: (scan: ScanEvent) => void): unknown;
  function on(event: 'error', listener: (error: Error) => void): unknown;
  function on(event: string, listener: (arg: never) => void): unknown {
    if (event === 'ready') {
      const fn = listener as (listeners: Listener[]) => void;
      return inner.on('ready', (all) => fn(all.filter(keep)));
    }
    if (event === 'open' || event === 'close') {
      const fn = listener as (e: PortEvent) => void;
      return inner.on(event, (e) => (keep(e.listener) ? fn(e) : undefined));
    }
    if (event === 'update') {
      const fn = listener as (e: UpdateEvent) => void;
      return inner.on('update', (e) => (keep(e.listener) ? fn(e) : undefined));
    }
    if (event === 'scan') return inner.on('scan', listener as (s: ScanEvent) => void);
    return inner.on('error', listener as (e: Error) => void);
  }
  return {
    get source() {
      return inner.source;
    },
    get trigger() {
      return inner.trigger;
    },
    get triggerFallback() {
      return inner.triggerFallback;
    },
    close: () => inner.close(),
    on,
  };
}
