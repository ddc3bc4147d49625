/**
 * What `portwatch forward` reports: NDJSON with --json, lines otherwise, /api/forwards.
 * `{"type":"forward","local":[…],"remote":{"port"},"listener":…}`, `unforward`, `error`.
 */
import { listenerKey, type Listener } from '../listener.js';
import type { Notify } from './policy.js';

export interface HostAddress {
  address: string;
  port: number;
}

export interface ForwardInfo {
  /** Where the forward listens on this host (one port number, one or two addresses). */
  local: HostAddress[];
  remote: { port: number };
  /** A listener on the port in the target; null while a forwardPorts port does not listen yet. */
  listener: Listener | null;
  label: string | null;
  /** onAutoForward: notify, silent, openBrowser, openBrowserOnce or openPreview. */
  notify: Notify;
  /** The URL to open it with (http unless the attributes say https). */
  url: string;
  /** The host port differs from the target port (the same one was taken here). */
  moved: boolean;
  /** The host port was required (requireLocalPort or --map). */
  exact: boolean;
  /** Forwarded ahead of time (forwardPorts): nothing listens in the target yet. */
  waiting: boolean;
}

export interface ForwardEvent extends ForwardInfo {
  type: 'forward';
  time: string;
}

export interface UnforwardEvent {
  type: 'unforward';
  time: string;
  local: HostAddress[];
  remote: { port: number };
  /** closed: the port closed in the target; target-gone: the target went away; stopped: portwatch stops. */
  reason: 'closed' | 'target-gone' | 'stopped';
}

export interface ForwardErrorEvent {
  type: 'error';
  time: string;
  /** The target port concerned. */
  port: number;
  message: string;
}

export type ForwardStreamEvent = ForwardEvent | UnforwardEvent | ForwardErrorEvent;

/** Why a forward listens on another host port than the target's, in words; null when it does not. */
export function movedReason(f: Pick<ForwardInfo, 'moved' | 'exact' | 'remote' | 'local'>): string | null {
  if (!f.moved) return null;
  // Exact and moved: --map asked for that host port; otherwise the same port was taken here.
  return f.exact ? `--map sends ${f.remote.port} to ${f.local[0]?.port ?? '?'}` : `${f.remote.port} is taken here`;
}

/**
 * A forward as `/api/forwards` and serve's event stream show it: where it is reachable on
 * this host, which target port and listener it carries, whether (and why) the port moved.
 */
export interface ForwardView {
  protocol: 'tcp';
  /** Where it listens on this host. */
  local: HostAddress[];
  /** The URL to open it with on this host (its scheme follows the probe when serve probed it). */
  url: string;
  remote: { port: number };
  /** The target's listener on that port (null while a forwardPorts port does not listen yet). */
  listener: Listener | null;
  /** listenerKey() of that listener, as /api/listeners rows are keyed. */
  listenerKey: string | null;
  label: string | null;
  notify: Notify;
  moved: boolean;
  /** `5173 is taken here`, or `--map sends 5173 to 15173`; null when not moved. */
  movedReason: string | null;
  exact: boolean;
  waiting: boolean;
  /** When the forward started (ISO time). */
  since: string;
  /** What serve's probe through the forward found: http, https, or null (not HTTP, not probed). */
  http: 'http' | 'https' | null;
  /** The page's <title>, when the probe found one. */
  title: string | null;
}

/** The view of a forward event, before any probe. */
export function forwardView(e: ForwardEvent): ForwardView {
  return {
    protocol: 'tcp',
    local: e.local.map((a) => ({ ...a })),
    url: e.url,
    remote: { port: e.remote.port },
    listener: e.listener,
    listenerKey: e.listener === null ? null : listenerKey(e.listener),
    label: e.label,
    notify: e.notify,
    moved: e.moved,
    movedReason: movedReason(e),
    exact: e.exact,
    waiting: e.waiting,
    since: e.time,
    http: null,
    title: null,
  };
}
