/** The options and shapes of `portwatch serve` as a library (types only). */
import type { Listener } from '../listener.js';
import type { WatchOptions } from '../watch/watcher.js';
import type { LabelFn } from './listener-table.js';

export interface ServeLogger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
}

export interface ProbeSettings {
  /** Per listener, both attempts together (default 1000 ms). */
  timeoutMs?: number;
  /** Bytes read per attempt (default 64 KiB). */
  maxBytes?: number;
  /** Probes at a time (default 4). */
  concurrency?: number;
}

export interface ServeServerOptions {
  /** Address to listen on (default 127.0.0.1). Anything but loopback requires `token`. */
  host?: string;
  /** Port (default 4040; 0 picks a free one). */
  port?: number;
  /** Every request must carry it (Bearer header, or the cookie set by opening /?token=…). */
  token?: string | null;
  /** More Host names to answer to (and p<PORT>. under them), besides localhost and IP addresses. */
  allowHosts?: readonly string[];
  /** How to watch: source, netnsPid, interval… (the filter goes in `filter`). */
  watchOptions?: Omit<WatchOptions, 'filter' | 'signal' | 'persistent'>;
  /**
   * Host mode: every network namespace on the machine (watchOptions' source and trigger
   * apply; netnsPid and interval do not). Listeners carry their netns and container.
   */
  allNamespaces?: boolean;
  /** Only these listeners are listed, announced and proxied to. */
  filter?: (l: Listener) => boolean;
  /** A label for each listener (e.g. from a rules file), shown as `label` in the JSON. */
  label?: LabelFn;
  /**
   * False for "silent" listeners: listed (API, page), but their opens and closes are not
   * announced — not in the event log, the default event stream messages, the events file or
   * portwatch_events_total. The stream carries them as `event: silent` so live pages stay right.
   */
  announce?: (l: Listener) => boolean;
  /** Append every event to this file as NDJSON. */
  eventsFile?: string | null;
  /** Rotate the events file to `<file>.1` at this size (default 10 MiB). */
  eventsFileMaxBytes?: number;
  /** Recent events kept for Last-Event-ID and ?since= (default 1000). */
  history?: number;
  /** Heartbeat comment on event streams this often (default 15 s). */
  heartbeatMs?: number;
  /** HTTP detection of new TCP listeners (default on). */
  probe?: boolean | ProbeSettings;
  /** The reverse proxy (default on). */
  proxy?: boolean;
  /** Largest request body the proxy forwards (default 32 MiB). */
  maxBodyBytes?: number;
  /** Largest request head (default 16 KiB; beyond it: 431). */
  maxHeaderBytes?: number;
  /** Export process_* and nodejs_* metrics too (default true). */
  processMetrics?: boolean;
  /** A client connection with no byte in either direction for this long is closed (default 120 s; event streams send a heartbeat). */
  idleTimeoutMs?: number;
  /** Client connections at a time; more are refused (default: a quarter of the open-file limit, 64–16384). */
  maxConnections?: number;
  /** How long close() lets requests in flight finish before cutting them (default 1 s). */
  shutdownGraceMs?: number;
  logger?: ServeLogger;
  /**
   * Called with +1 when a tunnel (a `portwatch forward URL` connection) is joined and -1 when
   * it ends, which may be after close() resolved. The CLI keeps V8's heap roomy while any is
   * open.
   */
  onTunnels?: (delta: 1 | -1) => void;
}

export interface ServeAddress {
  host: string;
  port: number;
  family: 4 | 6;
  /** e.g. http://127.0.0.1:4040/ */
  url: string;
}
