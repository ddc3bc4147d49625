/**
 * Direct mode for one network namespace: one watcher on the target (the engine tells when
 * a port opens or closes there), one forwarder, one netns connector. Ends when the target
 * process exits (its forwards closed with reason `target-gone`) or when closed.
 */
import { isPortwatchError, PortwatchError } from '../errors.js';
import { netnsOf } from '../namespaces.js';
import type { TickEvent, WatchOptions } from '../watch/watch-types.js';
import { watch, type PortWatcher } from '../watch/watcher.js';
import { Forwarder, type ForwarderOptions } from './forwarder.js';
import { createNetnsConnector } from './netns-connector.js';

export interface ForwardNamespaceOptions extends Omit<ForwarderOptions, 'connector'> {
  netnsPid: number;
  /** Engine options for the target's watcher (source, trigger, interval). */
  watch?: Pick<WatchOptions, 'source' | 'trigger' | 'interval'>;
  /** Called with each scan's tick (for --log-level debug). */
  onTick?: (tick: TickEvent) => void;
}

export interface NamespaceForward {
  readonly forwarder: Forwarder;
  readonly watcher: PortWatcher;
  /** Settles when forwarding ends: 'target-gone' when the target exited, 'stopped' after close(). */
  readonly ended: Promise<'target-gone' | 'stopped'>;
  /** Closes every host listener, cuts every connection, stops the watcher; `why` goes into the unforward events. */
  close(why?: 'target-gone' | 'stopped'): Promise<void>;
}

export function forwardNamespace(options: ForwardNamespaceOptions): NamespaceForward {
  const own = netnsOf();
  const target = netnsOf(options.netnsPid);
  if (target === null) throw new PortwatchError('ENOPROCESS', `cannot read the network namespace of pid ${options.netnsPid}`);
  if (own !== null && target === own)
    throw new PortwatchError(
      'EUSAGE',
      `pid ${options.netnsPid} shares this network namespace: its ports are already here, nothing to forward`,
    );
  const connector = createNetnsConnector({ netnsPath: `/proc/${options.netnsPid}/ns/net` });
  const forwarder = new Forwarder({ ...options, connector });
  const watcher = watch({ ...options.watch, netnsPid: options.netnsPid, persistent: true });
  let finish!: (why: 'target-gone' | 'stopped') => void;
  const ended = new Promise<'target-gone' | 'stopped'>((resolve) => (finish = resolve));
  const stop = (why: 'target-gone' | 'stopped'): Promise<void> => {
    forwarder.close(why);
    finish(why);
    return watcher.close();
  };
  if (options.onTick) watcher.on('tick', options.onTick);
  watcher.on('ready', (listeners) => listeners.forEach((l) => forwarder.listenerOpened(l)));
  watcher.on('open', (e) => forwarder.listenerOpened(e.listener));
  watcher.on('close', (e) => forwarder.listenerClosed(e.listener));
  watcher.on('error', (e) => {
    if (isPortwatchError(e) && e.code === 'ENOPROCESS') void stop('target-gone');
  });
  forwarder.start();
  return { forwarder, watcher, ended, close: (why = 'stopped') => stop(why) };
}
