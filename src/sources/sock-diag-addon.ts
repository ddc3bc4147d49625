/**
 * The optional native sock_diag addon (native/sockdiag.c), loaded on first use.
 * It is optional because installs without a compiler skip it; callers fall back to other sources.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { ChangePolicy, ChangeWatchStats } from './source.js';

export interface SockDiagAddon {
  /** Sends one netlink request on a fresh socket; returns every reply datagram up to NLMSG_DONE, concatenated. */
  dump(request: Buffer, netnsPath?: string): Buffer;
  /** Opens a sock_diag socket (inside the namespace at netnsPath when given) to reuse across dumps. */
  openSocket(netnsPath?: string): number;
  /**
   * dump() on a socket from openSocket(); replies to other sequence numbers are dropped. With
   * `previous` (a Buffer, or null for none yet) the reply's volatile fields (nlmsg_seq, and each
   * socket's expires and queue lengths) are zeroed, and `previous` itself is returned when the
   * rest is the same bytes: an unchanged table costs no allocation and no parse. Addons built
   * before this ignore it and always return a new Buffer.
   */
  dumpOn(fd: number, request: Buffer, previous?: Buffer | null): Buffer;
  closeSocket(fd: number): void;
  /**
   * Starts the change poller (native/poll-thread.c): a thread that sends `requests` on `fd` on
   * `policy`'s interval and calls onEvent('change') when a reply differs from its last one, or
   * onEvent('error', code, message) once when it stops. Shares `fd`: the poller keeps a dup
   * (pollStop closes it) and round trips take turns, so dumpOn() on `fd` stays correct. With
   * `netDir` (the /proc/<pid>/net of the namespace `fd` reads), a table too big to dump every
   * `minMs` within the budget is dumped when the kernel's socket counts move (poll-pace.h).
   * Absent in addons built before the poller.
   */
  pollStart?(fd: number, requests: Buffer[], policy: ChangePolicy, onEvent: PollEventCallback, netDir?: string | null): PollHandle;
  pollStop?(handle: PollHandle): void;
  pollStats?(handle: PollHandle): ChangeWatchStats;
  /** A TCP socket (fd) created inside the network namespace at netnsPath; absent in addons built before forward. */
  streamSocketIn?(netnsPath: string, family: 4 | 6): number;
  /**
   * Starts the splice relay engine (one thread, one epoll) on first call; later calls replace
   * onEnd. Absent in addons built before the splice relay (native/relay.c).
   */
  relayInit?(onEnd: RelayEndCallback): void;
  /**
   * Relays bytes between two connected TCP sockets with splice(2); returns the relay's id.
   * Works on dups: the caller closes its own fds at once (no shutdown) and never uses them again.
   */
  relayStart?(clientFd: number, targetFd: number): number;
  /** Ends a relay now (reset: SO_LINGER 0); false when it had already ended. Its end is reported as 'cut'. */
  relayCut?(id: number, reset?: boolean): boolean;
}

/** An opaque handle from pollStart(). */
export type PollHandle = { readonly __brand: 'PollHandle' };

export type PollEventCallback = (kind: 'change' | 'error', code?: string, message?: string) => void;

/** How a native relay ended: both ways cleanly, a side reset, another socket error, or relayCut(). */
export type RelayEndHow = 'eof' | 'reset' | 'error' | 'cut';

/**
 * Called on the Node thread when a native relay has ended: bytes client → target (up) and back
 * (down); for 'reset' and 'error', the errno's name and the side it happened on.
 */
export type RelayEndCallback = (
  id: number,
  up: number,
  down: number,
  how: RelayEndHow,
  code: string | null,
  side: 'client' | 'target' | null,
) => void;

// Both src/sources/ and dist/sources/ sit two levels below the package root.
const PACKAGE_ROOT = new URL('../../', import.meta.url);
const ADDON_PATH = fileURLToPath(new URL('native/build/Release/portwatch_sockdiag.node', PACKAGE_ROOT));

interface LoadResult {
  addon: SockDiagAddon | null;
  reason: string | null;
}

let cached: LoadResult | undefined;

/** Tests set PORTWATCH_NO_NATIVE=1 to exercise the fallbacks; read it on every call. */
function disabled(): boolean {
  return process.env.PORTWATCH_NO_NATIVE === '1';
}

function load(): LoadResult {
  if (process.platform !== 'linux') return { addon: null, reason: 'sock_diag exists only on Linux' };
  if (!existsSync(ADDON_PATH)) {
    return { addon: null, reason: `${ADDON_PATH} is missing; run npm run build:native` };
  }
  try {
    const mod = createRequire(import.meta.url)(ADDON_PATH) as Partial<SockDiagAddon>;
    if (typeof mod.dump !== 'function' || typeof mod.dumpOn !== 'function') {
      return { addon: null, reason: `${ADDON_PATH} is out of date (no dump()/dumpOn()); run npm run build:native` };
    }
    return { addon: mod as SockDiagAddon, reason: null };
  } catch (e) {
    return { addon: null, reason: `${ADDON_PATH} failed to load: ${e instanceof Error ? e.message : String(e)}` };
  }
}

/** The addon, or null when it is disabled, not built, or fails to load. */
export function loadSockDiagAddon(): SockDiagAddon | null {
  if (disabled()) return null;
  cached ??= load();
  return cached.addon;
}

/** Why {@link loadSockDiagAddon} returns null; null when the addon is available. */
export function sockDiagUnavailableReason(): string | null {
  if (disabled()) return 'disabled by PORTWATCH_NO_NATIVE=1';
  cached ??= load();
  return cached.reason;
}
