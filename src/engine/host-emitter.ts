/**
 * What the host watcher tells, in order: per look, closes before opens; a namespace's
 * `namespace-open` before its listeners open and `namespace-close` after they closed; one
 * `change` per look that changed anything. The filter applies to listeners, not namespaces.
 */
import type { EventEmitter } from 'node:events';
import { PortwatchError } from '../errors.js';
import type { Listener, PortEvent } from '../listener.js';
import { diffListeners } from '../watch/diff.js';
import type { HostWatcherEvents, NamespaceEvent } from './host-watch-types.js';
import type { NamespaceInfo } from './host-types.js';

export class Emitter {
  readonly ready: Promise<Listener[]>;
  isReady = false;
  private resolveReady!: (l: Listener[]) => void;
  private rejectReady!: (e: Error) => void;
  private isClosed = false;
  /** Listeners per namespace as announced (filtered). */
  private readonly byNetns = new Map<string, Listener[]>();
  private opened: Listener[] = [];
  private closedNow: Listener[] = [];
  /** What was said about each namespace that could not be read (said once per problem). */
  private readonly reported = new Map<string, string>();

  constructor(
    private readonly target: EventEmitter<HostWatcherEvents>,
    private readonly filter: (l: Listener) => boolean,
  ) {
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.ready.catch(() => {});
  }

  first(listeners: readonly Listener[]): void {
    const kept = listeners.filter(this.filter);
    for (const l of kept) this.group(l.netns ?? '-').push(l);
    this.isReady = true;
    this.target.emit('ready', [...kept]);
    this.resolveReady([...kept]);
  }

  /** Every announced listener, in namespace order as first seen. */
  current(): Listener[] {
    return [...this.byNetns.values()].flat();
  }

  count(): number {
    let n = 0;
    for (const ls of this.byNetns.values()) n += ls.length;
    return n;
  }

  /** Diffs the namespaces read; emits closes then opens. Returns the namespaces that changed. */
  diff(time: string, scanned: readonly { netns: string; listeners: Listener[] }[]): Set<string> {
    const changed = new Set<string>();
    const opens: Listener[] = [];
    for (const { netns, listeners } of scanned) {
      const before = this.byNetns.get(netns) ?? [];
      const next = listeners.filter(this.filter);
      const d = diffListeners(before, next);
      if (d.opened.length === 0 && d.closed.length === 0) continue;
      changed.add(netns);
      this.byNetns.set(netns, next);
      for (const l of d.closed) this.deliver({ type: 'close', time, listener: l });
      for (const l of d.opened) opens.push(l);
    }
    for (const l of opens) this.deliver({ type: 'open', time, listener: l });
    return changed;
  }

  namespaceOpened(time: string, info: NamespaceInfo): void {
    this.byNetns.set(info.netns, this.byNetns.get(info.netns) ?? []);
    this.say({ type: 'namespace-open', time, netns: info.netns, container: info.container });
  }

  /** A namespace went away: its listeners close, then it does. */
  namespaceClosed(time: string, info: NamespaceInfo, listeners: readonly Listener[]): void {
    const announced = this.byNetns.get(info.netns) ?? listeners.filter(this.filter);
    this.byNetns.delete(info.netns);
    this.reported.delete(info.netns);
    for (const l of announced) this.deliver({ type: 'close', time, listener: l });
    this.say({ type: 'namespace-close', time, netns: info.netns, container: info.container });
  }

  /** Listeners whose container is now named better: re-announced as `update`. */
  updates(listeners: readonly Listener[]): void {
    const time = new Date().toISOString();
    for (const l of listeners) {
      if (this.isClosed || !this.filter(l)) continue;
      const group = this.byNetns.get(l.netns ?? '-');
      const i = group?.findIndex((x) => x.inode === l.inode && x.port === l.port) ?? -1;
      if (group !== undefined && i >= 0) group[i] = l;
      this.target.emit('update', { type: 'update', time, listener: l });
    }
  }

  /** One `change` for everything delivered since the last flush. */
  flush(time: string): void {
    if (this.isClosed || (this.opened.length === 0 && this.closedNow.length === 0)) return;
    const change = { time, opened: this.opened, closed: this.closedNow };
    this.opened = [];
    this.closedNow = [];
    this.target.emit('change', change);
  }

  /** A namespace could not be read: said once per namespace and problem. */
  failed(netns: string, problem: string | null): void {
    if (problem === null || this.reported.get(netns) === problem) return;
    this.reported.set(netns, problem);
    this.error(new PortwatchError('ESCAN', `network namespace ${netns}: ${problem}`));
  }

  /** 'error' with no listener would throw: a watcher never takes its host down. */
  error(e: Error): void {
    if (!this.isClosed && this.target.listenerCount('error') > 0) this.target.emit('error', e);
  }

  closed(): void {
    this.isClosed = true;
    this.rejectReady(new PortwatchError('EABORTED', 'the watcher was closed before its first scan'));
  }

  private group(netns: string): Listener[] {
    let g = this.byNetns.get(netns);
    if (g === undefined) this.byNetns.set(netns, (g = []));
    return g;
  }

  private deliver(e: PortEvent): void {
    if (this.isClosed) return;
    (e.type === 'open' ? this.opened : this.closedNow).push(e.listener);
    this.target.emit(e.type, e);
  }

  private say(e: NamespaceEvent): void {
    if (!this.isClosed) this.target.emit(e.type, e);
  }
}
