/**
 * Through serve: listeners from serve's event stream, connections through its tunnel. The
 * forwards stay up while the stream reconnects; the snapshot that starts every connection
 * then closes what went away and opens what is new.
 */
import type { Listener } from '../listener.js';
import { socketInode } from '../owners/holders.js';
import { procFs } from '../proc/proc-fs.js';
import { Forwarder, type ForwarderOptions } from './forwarder.js';
import { ServeFeed } from './serve-feed.js';
import { createTunnelConnector } from './tunnel-connector.js';

export interface ForwardServeOptions extends Omit<ForwarderOptions, 'connector'> {
  base: URL;
  token: string | null;
  maxBackoffMs?: number;
}

export interface ServeForward {
  readonly forwarder: Forwarder;
  readonly feed: ServeFeed;
  /** Settles with the reason when serve refuses us for good (a wrong token); 'stopped' after close(). */
  readonly ended: Promise<string>;
  close(): void;
}

const keyOf = (l: Listener): string => `${l.inode}|${l.family}|${l.address}|${l.port}`;

/**
 * A serve in this very network namespace (a loopback URL, a test) sees our own host
 * listeners too; forwarding them again would cascade port after port. They are ours when
 * the owner is this process and the port is one we listen on.
 */
function isOwnForward(l: Listener, forwarder: Forwarder): boolean {
  if (!forwarder.list().some((f) => f.local.some((a) => a.port === l.port))) return false;
  if (l.process !== null) return l.process.pid === process.pid;
  // No owner yet (serve's owner search still going on): ours when the socket is one of our
  // own, by inode (the same kernel, so the same namespace: the cascade case); a port number
  // alone would also match the target's listener that this very forward carries.
  return ownSocketInodes().has(l.inode);
}

/** The inodes of this process's sockets (Linux); empty where /proc cannot say (then serve is another host's). */
function ownSocketInodes(): Set<number> {
  const proc = procFs('/proc');
  const inodes = new Set<number>();
  for (const fd of proc.fds(process.pid) ?? []) {
    const link = proc.fd(process.pid, fd);
    const inode = link === null ? null : socketInode(link);
    if (inode !== null) inodes.add(inode);
  }
  return inodes;
}

export function forwardThroughServeUrl(options: ForwardServeOptions): ServeForward {
  const forwarder = new Forwarder({ ...options, connector: createTunnelConnector({ base: options.base, token: options.token }) });
  const feed = new ServeFeed({
    base: options.base,
    token: options.token,
    ...(options.maxBackoffMs === undefined ? {} : { maxBackoffMs: options.maxBackoffMs }),
  });
  const known = new Map<string, Listener>();
  let finish!: (why: string) => void;
  const ended = new Promise<string>((resolve) => (finish = resolve));
  feed.on('snapshot', (all) => {
    const listeners = all.filter((l) => !isOwnForward(l, forwarder));
    const now = new Map(listeners.map((l) => [keyOf(l), l]));
    for (const [key, l] of known) if (!now.has(key)) forwarder.listenerClosed(l);
    known.clear();
    for (const [key, l] of now) {
      known.set(key, l);
      forwarder.listenerOpened(l);
    }
  });
  feed.on('open', (l) => {
    if (isOwnForward(l, forwarder)) return;
    known.set(keyOf(l), l);
    forwarder.listenerOpened(l);
  });
  feed.on('close', (l) => {
    known.delete(keyOf(l));
    forwarder.listenerClosed(l);
  });
  const close = (why: string): void => {
    feed.close();
    forwarder.close(why === 'stopped' ? 'stopped' : 'target-gone');
    finish(why);
  };
  feed.on('fatal', (why) => close(why));
  forwarder.start();
  feed.start();
  return { forwarder, feed, ended, close: () => close('stopped') };
}
