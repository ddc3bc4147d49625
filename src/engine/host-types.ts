/** Host mode's shapes (types only). */
import type { Listener, ListenerContainer } from '../listener.js';
import type { ContainerIndexOptions } from './container-index.js';
import type { HandleSource } from './namespace-handle.js';

export interface HostScannerOptions {
  /**
   * How namespaces are read: `auto` (default) uses sock_diag where it can (every namespace as
   * root, our own otherwise) and /proc/<pid>/net elsewhere; `sockdiag` insists (root); `procfs`
   * reads /proc/<pid>/net only (no privileges; a namespace with no process cannot be read).
   */
  source?: 'auto' | 'sockdiag' | 'procfs';
  /** Attach owning processes (default true). */
  owners?: boolean;
  /** Name containers (default true); false: `container` is always null. */
  containers?: boolean | Omit<ContainerIndexOptions, 'procRoot'>;
  /** How long a scan waits for the container engine to name new containers, ms (default 250). */
  engineWaitMs?: number;
  procRoot?: string;
}

/** A network namespace as host mode holds it. */
export interface NamespaceInfo {
  /** Its inode, as Listener.netns writes it. */
  netns: string;
  /** The one container all its processes are in; null on the host, or when they are in several (a pod). */
  container: ListenerContainer | null;
  /** How it is read; null when it could not be held. */
  source: HandleSource | null;
  /** Processes in it, as of the last look. */
  processes: number;
  /** Where it is bind-mounted (`ip netns add`: /run/netns/NAME). */
  mounts: string[];
  /** Why it could not be held or read; null when it was. */
  problem: string | null;
}

export interface RefreshResult {
  /** Namespaces held from now on (describe them with HostScanner.namespace()). */
  opened: string[];
  /** Known namespaces that gained a process: likely to listen soon. */
  touched: string[];
  /** Namespaces gone, each with the listeners it had at its last read. */
  closed: { namespace: NamespaceInfo; listeners: Listener[] }[];
}

export interface HostScanResult {
  /** Each namespace read: its listeners before and after. */
  scanned: { netns: string; previous: Listener[]; listeners: Listener[]; /** Wall time of the read alone (no owners). */ readMs: number }[];
  durationMs: number;
  /** The part spent finding owners of sockets not seen before. */
  attributionMs: number;
  /** Namespaces that could not be read (their listeners are kept as they were). */
  failed: string[];
}
