/**
 * The target's listeners for `portwatch forward --serve`, from the very watcher(s) the
 * forwarding uses: no second watcher, no second scan. A container that restarts gets a new
 * session and a new watcher; this relay stays, so serve sees one stream of events — one
 * `ready`, then opens and closes — and the table goes empty while the target is away:
 * detaching closes every listener it had, and the next watcher's first scan opens what is
 * there now.
 */
import { EventEmitter } from 'node:events';
import { isPortwatchError } from '../errors.js';
import { listenerKey, type Listener, type PortEvent } from '../listener.js';
import type { PortWatcherEvents, ScanEvent, UpdateEvent } from '../watch/watch-types.js';
import type { PortWatcher } from '../watch/watcher.js';

/** What serve reads of a watcher: a PortWatcher's events but its diagnostics. */
export type TargetWatcherEvents = Pick<PortWatcherEvents, 'ready' | 'open' | 'close' | 'update' | 'scan' | 'error'>;

export class TargetWatcher extends EventEmitter<TargetWatcherEvents> {
  private attached: PortWatcher | null = null;
  private last: PortWatcher | null = null;
  private readonly current = new Map<string, Listener>();
  private isReady = false;
  private closed = false;
  private readonly unhook: (() => void)[] = [];

  get source(): string {
    return this.last?.source ?? 'none';
  }

  get trigger(): string {
    return this.last?.trigger ?? 'none';
  }

  get triggerFallback(): string | null {
    return this.last?.triggerFallback ?? null;
  }

  /** Takes the events of `watcher` from now on (a new session's); any other is detached first. */
  attach(watcher: PortWatcher): void {
    if (this.closed) return;
    if (this.attached !== null) this.detach();
    this.attached = watcher;
    this.last = watcher;
    const mine = (): boolean => this.attached === watcher && !this.closed;
    const onReady = (initial: Listener[]): void => {
      if (!mine()) return;
      if (!this.isReady) {
        for (const l of initial) this.current.set(listenerKey(l), l);
        this.isReady = true;
        this.emit('ready', initial);
        return;
      }
      // A later session: what is there now, as events against what serve was last told.
      const time = new Date().toISOString();
      const now = new Map(initial.map((l) => [listenerKey(l), l]));
      for (const [key, l] of this.current) if (!now.has(key)) this.apply({ type: 'close', time, listener: l });
      for (const [key, l] of now) if (!this.current.has(key)) this.apply({ type: 'open', time, listener: l });
    };
    const onEvent = (e: PortEvent): void => void (mine() && this.isReady && this.apply(e));
    const onScan = (s: ScanEvent): void => void (mine() && this.emit('scan', s));
    // An owner found late: serve fills in the row it has.
    const onUpdate = (e: UpdateEvent): void => {
      const key = listenerKey(e.listener);
      if (!mine() || !this.isReady || !this.current.has(key)) return;
      this.current.set(key, e.listener);
      this.emit('update', e);
    };
    const onError = (e: Error): void => {
      // The target went away: its session ends and detach() closes its listeners.
      if (!mine() || (isPortwatchError(e) && e.code === 'ENOPROCESS')) return;
      if (this.listenerCount('error') > 0) this.emit('error', e);
    };
    watcher.on('ready', onReady);
    watcher.on('open', onEvent);
    watcher.on('close', onEvent);
    watcher.on('update', onUpdate);
    watcher.on('scan', onScan);
    watcher.on('error', onError);
    this.unhook.push(() => {
      watcher.off('ready', onReady);
      watcher.off('open', onEvent);
      watcher.off('close', onEvent);
      watcher.off('update', onUpdate);
      watcher.off('scan', onScan);
      watcher.off('error', onError);
    });
  }

  /**
   * The session of `watcher` (or whichever is attached) ended: every listener it had is
   * closed. Before any first scan (a container not running yet) serve is told: nothing.
   */
  detach(watcher?: PortWatcher): void {
    if (watcher !== undefined && watcher !== this.attached) return;
    this.attached = null;
    for (const u of this.unhook.splice(0)) u();
    if (this.closed) return;
    if (!this.isReady) {
      this.isReady = true;
      this.emit('ready', []);
      return;
    }
    const time = new Date().toISOString();
    for (const l of [...this.current.values()]) this.apply({ type: 'close', time, listener: l });
  }

  /** Stops relaying (serve closes it); the sessions' watchers are theirs to close. */
  close(): Promise<void> {
    this.closed = true;
    this.attached = null;
    for (const u of this.unhook.splice(0)) u();
    this.removeAllListeners();
    return Promise.resolve();
  }

  private apply(e: PortEvent): void {
    const key = listenerKey(e.listener);
    if (e.type === 'open') this.current.set(key, e.listener);
    else if (!this.current.delete(key)) return;
    this.emit(e.type, e);
  }
}
