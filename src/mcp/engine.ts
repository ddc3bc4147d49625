/**
 * What the MCP server reads listeners through: one watcher, and so one Scanner (one owner
 * cache, one netlink socket) and one trigger subscription, shared by every tool, every
 * concurrent wait and the resource. The watcher sees every listener (rules are applied by
 * each consumer, since wait_for_port and who_owns_port answer about ignored listeners too).
 * With `allNamespaces` it is host mode's HostWatcher (every network namespace; its filter is
 * `--container`'s), else a PortWatcher.
 *
 * Tools that must answer about this moment ask the watcher for a look and take the first
 * one that *started* after they asked. The engine knows when looks start: a PortWatcher reads
 * through the engine's source (a scan that began a moment before a port closed must not be
 * taken for a look after it); a HostWatcher numbers its steps.
 */
import { PortwatchError } from '../errors.js';
import type { Listener, PortEvent } from '../listener.js';
import { selectSource, type ScanOptions } from '../scan.js';
import type { ChangeWatchStats, Source } from '../sources/source.js';
import { describeTrigger } from '../triggers/select.js';
import type { Trigger, TriggerChoice } from '../triggers/trigger.js';
import { PortWatcher, type ChangeEvent, type UpdateEvent } from '../watch/watcher.js';
import { OWNERS_WAIT_MS } from '../watch/late-owners.js';
import { HostWatcher } from '../engine/host-watcher.js';

/** What the tools need of a watcher: a PortWatcher, or host mode's HostWatcher (the same events). */
export interface McpWatcher {
  readonly trigger: string;
  /** A poller that looks by itself off the main thread says `running` here (PortWatcher). */
  readonly triggerStats?: ChangeWatchStats | null;
  whenReady(): Promise<Listener[]>;
  snapshot(): Listener[];
  /** Look again as soon as possible (host mode: look for new namespaces too). */
  rescan(): void;
  close(): Promise<void>;
  on(event: 'open' | 'close', listener: (event: PortEvent) => void): unknown;
  on(event: 'change', listener: (change: ChangeEvent) => void): unknown;
  /** An announced listener known better (its owner or container found late). */
  on(event: 'update', listener: (event: UpdateEvent) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  /** After every look (a PortWatcher's scan, a HostWatcher's step); `error` null when it worked. */
  on(event: 'tick', listener: (tick: { error: Error | null; ownersPending?: number }) => void): unknown;
  off(event: 'change', listener: (change: ChangeEvent) => void): unknown;
  off(event: 'update', listener: (event: UpdateEvent) => void): unknown;
}

export interface McpEngine {
  /** Every listener, scan after scan: source of events and resource updates. */
  readonly watcher: McpWatcher;
  /** Every network namespace of the host (HostWatcher): listeners carry netns and container. */
  readonly allNamespaces: boolean;
  /** Every listener, as seen by the first scan that starts after the call; rejects when a scan fails before that one succeeds. */
  scanNow(): Promise<Listener[]>;
  /**
   * Calls `look` with every listener after each successful scan that starts after this call
   * (the first one is asked for at once), until the returned function is called. While any
   * look is followed, no kernel events say when to look and the interval is adaptive, scans
   * come at least every `lookMs`.
   */
  follow(look: (listeners: readonly Listener[]) => void, options?: FollowOptions): () => void;
  close(): Promise<void>;
}

export interface McpScanOptions extends ScanOptions {
  /** When to look (default 'auto': kernel events through tracefs as root, polling otherwise). */
  trigger?: TriggerChoice | Trigger;
}

export interface McpEngineOptions {
  scan: McpScanOptions;
  /**
   * Every network namespace of the host (HostWatcher), listeners kept by `filter` (say
   * `--container`'s). `scan.netnsPid` and the `ss` source do not go with it.
   */
  allNamespaces?: { filter?: (l: Listener) => boolean };
  /** Fixed watcher interval (ms); default adaptive. */
  interval?: number;
  /** How often a followed look is asked for while the watcher's interval is adaptive and it polls (default 100 ms). */
  lookMs?: number;
}

export interface FollowOptions {
  /**
   * The look answers about owners (stop_port): a scan that left some owner to a search going
   * on is skipped, for up to 2 s, in favour of the one after it.
   */
  owners?: boolean;
}

interface Follower {
  /** Scans started before this follower came. */
  after: number;
  look: (listeners: readonly Listener[]) => void;
  /** Only scanNow() wants to hear that a scan failed; a wait keeps looking. */
  failed?: (error: Error) => void;
  /** Until then (Date.now() ms), a look with owners pending is not handed over: it answers about owners. */
  ownersBy?: number;
}

/** The watcher reads through this, so the engine can tell which scans began after a request. */
function countingSource(inner: Source, started: () => void): Source {
  return {
    name: inner.name,
    scan: (target) => {
      started();
      return inner.scan(target);
    },
    // The source's own change watch (sock_diag's poller thread): the engine counts scans, not looks.
    ...(inner.watchChanges ? { watchChanges: inner.watchChanges.bind(inner) } : {}),
  };
}

/**
 * `auto` as the watcher would resolve it for the source itself: handed the counting
 * wrapper, it would take it for a caller's own source (whose tables kernel events may not
 * describe) and only poll. A source of the caller's own keeps that caution.
 */
function makeWatcher(o: McpEngineOptions, source: Source, callersSource: boolean): PortWatcher {
  const choice = o.scan.trigger ?? 'auto';
  const options = { ...o.scan, source, persistent: false, ...(o.interval !== undefined ? { interval: o.interval } : {}) };
  if (choice !== 'auto' || callersSource) return new PortWatcher({ ...options, trigger: choice });
  if (describeTrigger('auto').name === 'tracefs') {
    try {
      return new PortWatcher({ ...options, trigger: 'tracefs' });
    } catch (e) {
      if (!(e instanceof PortwatchError) || e.code !== 'ESOURCE_UNAVAILABLE') throw e;
    }
  }
  return new PortWatcher({ ...options, trigger: 'poll' });
}

/** A watcher, how many of its looks have started, and how to ask for a light look (while something waits). */
interface Looks {
  watcher: McpWatcher;
  started(): number;
  /** Look again soon, as cheaply as a wait allows (host mode: namespaces are looked for when due). */
  poll(): void;
  close(): Promise<void>;
}

function portLooks(o: McpEngineOptions): Looks {
  const choice = o.scan.source;
  const callersSource = typeof choice === 'object';
  const inner = typeof choice === 'object' ? choice : selectSource(choice, o.scan.netnsPid);
  let started = 0;
  let watcher: PortWatcher;
  try {
    watcher = makeWatcher(
      o,
      countingSource(inner, () => started++),
      callersSource,
    );
  } catch (e) {
    if (!callersSource) inner.close?.();
    throw e;
  }
  return {
    watcher,
    started: () => started,
    poll: () => watcher.rescan(),
    close: async () => {
      await watcher.close();
      if (!callersSource) inner.close?.();
    },
  };
}

function hostLooks(o: McpEngineOptions, filter: ((l: Listener) => boolean) | undefined): Looks {
  const source = o.scan.source ?? 'auto';
  if (source !== 'auto' && source !== 'sockdiag' && source !== 'procfs')
    throw new PortwatchError('EUSAGE', 'every namespace is read with sockdiag or procfs, not a source of your own or ss');
  if (o.scan.netnsPid !== undefined) throw new PortwatchError('EUSAGE', 'every namespace and one (netnsPid) cannot be combined');
  const watcher = new HostWatcher({
    source,
    ...(o.scan.trigger !== undefined ? { trigger: o.scan.trigger } : {}),
    ...(o.scan.owners !== undefined ? { owners: o.scan.owners } : {}),
    ...(filter !== undefined ? { filter } : {}),
  });
  return {
    watcher,
    started: () => watcher.steps,
    poll: () => watcher.rescan({ namespaces: false }),
    close: () => watcher.close(),
  };
}

export function createMcpEngine(o: McpEngineOptions): McpEngine {
  const host = o.allNamespaces;
  const looks = host === undefined ? portLooks(o) : hostLooks(o, host.filter);
  const { watcher } = looks;
  const lookMs = o.lookMs ?? 100;
  const followers = new Set<Follower>();
  let lastError: Error = new PortwatchError('ESCAN', 'the scan failed');
  let closed = false;

  let pacer: NodeJS.Timeout | null = null;
  const pace = (): void => {
    // A fixed interval already looks that often; an adaptive one may have stretched to seconds.
    if (followers.size > 0 && pacer === null && o.interval === undefined) {
      // Kernel events make this needless (the watcher scans on each listen() or bind()), and
      // so does a poller thread that already looks every interval and says when to scan.
      pacer = setInterval(() => {
        if (watcher.trigger !== 'tracefs' && watcher.triggerStats?.running !== true) looks.poll();
      }, lookMs);
      pacer.unref();
    } else if (followers.size === 0 && pacer !== null) {
      clearInterval(pacer);
      pacer = null;
    }
  };

  watcher.on('error', (e) => (lastError = e));
  watcher.on('tick', (tick) => {
    if (followers.size === 0) return;
    // Tools that answer about owners (who_owns_port, stop_port) skip a look whose owner search
    // goes on: the scan after that search ends has them (see watch/late-owners.ts).
    const pending = tick.error === null && (tick.ownersPending ?? 0) > 0;
    const listeners = tick.error === null ? watcher.snapshot() : null;
    const started = looks.started();
    for (const f of [...followers]) {
      if (listeners === null) f.failed?.(lastError);
      else if (pending && f.ownersBy !== undefined && Date.now() < f.ownersBy) continue;
      else if (started > f.after) f.look(listeners);
    }
  });

  const follow = (look: Follower['look'], failed?: Follower['failed'], options: FollowOptions = {}): (() => void) => {
    const follower: Follower = {
      after: looks.started(),
      look,
      ...(failed ? { failed } : {}),
      ...(options.owners === true ? { ownersBy: Date.now() + OWNERS_WAIT_MS } : {}),
    };
    followers.add(follower);
    pace();
    watcher.rescan();
    return () => {
      followers.delete(follower);
      pace();
    };
  };

  const scanNow = (): Promise<Listener[]> =>
    new Promise((resolve, reject) => {
      if (closed) return reject(new PortwatchError('EABORTED', 'the MCP server is closing'));
      const stop = follow(
        (listeners) => {
          stop();
          resolve([...listeners]);
        },
        (error) => {
          stop();
          reject(error);
        },
        { owners: true },
      );
    });

  return {
    watcher,
    allNamespaces: host !== undefined,
    scanNow,
    follow: (look, options) => follow(look, undefined, options),
    close: async () => {
      closed = true;
      for (const f of [...followers]) f.failed?.(new PortwatchError('EABORTED', 'the MCP server is closing'));
      followers.clear();
      pace();
      await looks.close();
    },
  };
}
