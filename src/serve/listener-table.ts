/**
 * What `portwatch serve` knows about each listener beyond the core Listener: since when it
 * is listening, whether it speaks HTTP (and its page title), and its label. Kept in step
 * with the watcher's ready/open/close events, so it always equals the watcher's snapshot.
 */
import { compareListeners, listenerKey, type Listener, type PortEvent } from '../listener.js';

export type HttpKind = 'http' | 'https';

export interface HttpInfo {
  http: HttpKind | null;
  /** The page's <title>, when it has one. */
  title: string | null;
}

/** A Listener as the API shows it. */
export type ListenerView = Listener & {
  /** Present only when a label function was given. */
  label?: string | null;
  /** ISO time the listener was first seen: its open event, or serve's first scan. */
  since: string;
  /** True for listeners already listening when serve started (they opened at or before `since`). */
  seenAtStart: boolean;
  http: HttpKind | null;
  title: string | null;
};

/** The listener inside events: the core Listener, plus `label` when a label function was given. */
export type LabeledListener = Listener & { label?: string | null };

export interface EventJson {
  type: PortEvent['type'];
  time: string;
  listener: LabeledListener;
}

export type LabelFn = (l: Listener) => string | null;

export class ListenerTable {
  private readonly views = new Map<string, ListenerView>();
  private readonly label: LabelFn | undefined;

  constructor(options: { label?: LabelFn | undefined } = {}) {
    this.label = options.label;
  }

  get size(): number {
    return this.views.size;
  }

  /** The listeners present at the first scan. */
  reset(initial: readonly Listener[], time: string): void {
    this.views.clear();
    for (const l of initial) this.views.set(listenerKey(l), this.view(l, time, true));
  }

  /** Applies an event; returns the view of the listener it is about. */
  apply(event: PortEvent): ListenerView {
    const key = listenerKey(event.listener);
    if (event.type === 'close') {
      const known = this.views.get(key);
      this.views.delete(key);
      return known ?? this.view(event.listener, event.time, false);
    }
    const view = this.view(event.listener, event.time, false);
    this.views.set(key, view);
    return view;
  }

  /**
   * A listener known better (its owner found late): the new one replaces the old, keeping
   * what serve learned of it. Returns the updated view, or null if the listener is gone.
   */
  update(l: Listener): ListenerView | null {
    const key = listenerKey(l);
    const had = this.views.get(key);
    if (!had) return null;
    const view: ListenerView = { ...this.view(l, had.since, had.seenAtStart), http: had.http, title: had.title };
    this.views.set(key, view);
    return view;
  }

  /** Records what an HTTP probe found; returns the updated view, or null if the listener is gone. */
  setHttp(key: string, info: HttpInfo): ListenerView | null {
    const view = this.views.get(key);
    if (!view) return null;
    view.http = info.http;
    view.title = info.title;
    return view;
  }

  get(key: string): ListenerView | undefined {
    return this.views.get(key);
  }

  /** Every listener, unordered (cheap: for lookups on hot paths). */
  values(): IterableIterator<ListenerView> {
    return this.views.values();
  }

  /** Every listener, in the core's stable order. */
  list(): ListenerView[] {
    return [...this.views.values()].sort(compareListeners);
  }

  /** The event as the API and the events file show it. */
  eventJson(event: PortEvent): EventJson {
    return { type: event.type, time: event.time, listener: this.withLabel(event.listener) };
  }

  private withLabel(l: Listener): LabeledListener {
    return this.label ? { ...l, label: this.safeLabel(l) } : l;
  }

  private safeLabel(l: Listener): string | null {
    try {
      return this.label?.(l) ?? null;
    } catch {
      return null; // a faulty label rule must not break the server
    }
  }

  private view(l: Listener, since: string, seenAtStart: boolean): ListenerView {
    return { ...this.withLabel(l), since, seenAtStart, http: null, title: null };
  }
}
