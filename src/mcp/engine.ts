/**
 * What the MCP server reads listeners through: the one place its scanner and watcher are
 * made. The watcher sees every listener (rules are applied by each consumer, since
 * wait_for_port and who_owns_port answer about ignored listeners too); scanNow() is an
 * exact look for tools that must answer about this moment.
 */
import type { Listener } from '../listener.js';
import { Scanner, type ScanOptions } from '../scan.js';
import { PortWatcher } from '../watch/watcher.js';

export interface McpEngine {
  /** Every listener, scan after scan: source of events and resource updates. */
  readonly watcher: PortWatcher;
  /** A scan that starts after the call. Calls queue: one scan at a time. */
  scanNow(): Promise<Listener[]>;
  close(): Promise<void>;
}

export interface McpEngineOptions {
  scan: ScanOptions;
  /** Fixed watcher interval (ms); default adaptive. */
  interval?: number;
}

export function createMcpEngine(o: McpEngineOptions): McpEngine {
  const scanner = new Scanner(o.scan);
  // The scanner's caches are not for concurrent use.
  let queue: Promise<unknown> = Promise.resolve();
  const scanNow = (): Promise<Listener[]> => {
    const next = queue.then(() => scanner.scan()).then((r) => r.listeners);
    queue = next.catch(() => {});
    return next;
  };
  const watcher = new PortWatcher({
    ...o.scan,
    persistent: false,
    ...(o.interval !== undefined ? { interval: o.interval } : {}),
  });
  // The first scan finds every owner (a walk of /proc/*/fd): pay for it now, not in the first tool call.
  scanNow().catch(() => {});
  return {
    watcher,
    scanNow,
    close: async () => {
      await watcher.close();
      await queue;
      scanner.close();
    },
  };
}
