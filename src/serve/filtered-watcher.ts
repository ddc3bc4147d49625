/**
 * A watcher serve did not start (forward --serve hands it the target's): serve's filter
 * (its own sockets, the rules, --port) applied to its events, as a watcher serve starts
 * applies it to its scans. It remembers which listeners it let through, so that a close
 * always reaches serve for a listener it announced, and an `update` (an owner found late)
 * that changes the filter's answer reads as the open or close serve would have seen.
 */
import { EventEmitter } from 'node:events';
import { listenerKey, type Listener, type PortEvent } from '../listener.js';
import type { PortWatcherEvents, ScanEvent, UpdateEvent } from '../watch/watch-types.js';
import type { ServeWatcher } from './live-state.js';

type FilteredEvents = Pick<PortWatcherEvents, 'ready' | 'open' | 'close' | 'update' | 'scan' | 'error'>;

export function filteredWatcher(inner: ServeWatcher, keep: (l: Listener) => boolean): ServeWatcher {
  const out = new EventEmitter<FilteredEvents>();
  const kept = new Set<string>();
  inner.on('ready', (all) => {
    const shown = all.filter(keep);
    kept.clear();
    for (const l of shown) kept.add(listenerKey(l));
    out.emit('ready', shown);
  });
  inner.on('open', (e) => {
    if (!keep(e.listener)) return;
    kept.add(listenerKey(e.listener));
    out.emit('open', e);
  });
  inner.on('close', (e) => {
    if (kept.delete(listenerKey(e.listener))) out.emit('close', e);
  });
  inner.on('update', (e) => {
    const key = listenerKey(e.listener);
    const was = kept.has(key);
    const now = keep(e.listener);
    if (was && now) out.emit('update', e);
    else if (now) {
      kept.add(key);
      out.emit('open', { type: 'open', time: e.time, listener: e.listener });
    } else if (was) {
      kept.delete(key);
      out.emit('close', { type: 'close', time: e.time, listener: e.listener });
    }
  });
  inner.on('scan', (s) => out.emit('scan', s));
  inner.on('error', (e) => {
    if (out.listenerCount('error') > 0) out.emit('error', e);
  });

  function on(event: 'ready', listener: (listeners: Listener[]) => void): unknown;
  function on(event: 'open' | 'close', listener: (event: PortEvent) => void): unknown;
  function on(event: 'update', listener: (event: UpdateEvent) => void): unknown;
  function on(event: 'scan', listener: (scan: ScanEvent) => void): unknown;
  function on(event: 'error', listener: (error: Error) => void): unknown;
  function on(event: keyof FilteredEvents, listener: (arg: never) => void): unknown {
    return out.on(event, listener as (...args: unknown[]) => void);
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
