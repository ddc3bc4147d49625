/**
 * What `portwatch forward` reports: NDJSON with --json, lines otherwise, /api/forwards.
 * `{"type":"forward","local":[…],"remote":{"port"},"listener":…}`, `unforward`, `error`.
 */
import type { Listener } from '../listener.js';
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
