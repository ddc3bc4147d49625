/** scanHost(): one look at every network namespace on the host (a one-shot HostScanner). */
import type { Listener } from '../listener.js';
import { HostScanner } from './host-scanner.js';
import type { HostScannerOptions, NamespaceInfo } from './host-types.js';
import type { HandleSource } from './namespace-handle.js';

export interface HostListResult {
  /** Every listener, our own namespace first, then by namespace inode; each with `netns` and `container`. */
  listeners: Listener[];
  namespaces: NamespaceInfo[];
  /** How most namespaces were read. */
  source: HandleSource;
  durationMs: number;
  /** What could not be seen (without root: other users' namespaces), in sentences. */
  missing: string[];
}

/**
 * Every listener in every network namespace, once. Waits up to `engineWaitMs` (default 2 s
 * here: a listing is worth a short wait) for the container engine to name containers.
 * Throws PortwatchError for a source that cannot work here.
 */
export async function scanHost(options: HostScannerOptions = {}): Promise<HostListResult> {
  const started = performance.now();
  const scanner = new HostScanner({ engineWaitMs: 2_000, ...options });
  try {
    scanner.refresh();
    await scanner.scan('all');
    return {
      listeners: scanner.listeners(),
      namespaces: scanner.namespaces(),
      source: scanner.source,
      durationMs: performance.now() - started,
      missing: scanner.missing(),
    };
  } finally {
    scanner.close();
  }
}
