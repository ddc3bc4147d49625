/**
 * scan(): one look at the listening sockets, with owners attached. The one place where a
 * source is chosen. A Scanner keeps the caches that make repeated scans cheap (the
 * watcher holds one); scan() is a one-shot Scanner.
 */
import { geteuid } from 'node:process';
import { PortwatchError } from './errors.js';
import type { Listener, ProcessInfo } from './listener.js';
import { netnsOf, processExists } from './namespaces.js';
import { readProcessInfo } from './owners/process-info.js';
import { SocketOwners } from './owners/socket-owners.js';
import { createProcNetSource } from './sources/proc-net.js';
import { createSockDiagSource } from './sources/sock-diag.js';
import { sockDiagUnavailableReason } from './sources/sock-diag-addon.js';
import type { RawSocket, Source, SourceName } from './sources/source.js';
import { createSsSource } from './sources/ss.js';
import { StableListeners } from './stable-listeners.js';

export type SourceChoice = SourceName | 'auto';
export const SOURCE_CHOICES: readonly SourceChoice[] = ['auto', 'sockdiag', 'procfs', 'ss'];

export interface ScanOptions {
  /**
   * Which way to read sockets: `auto` (default) picks the cheapest that works here.
   * A `Source` object plugs in a source of your own.
   */
  source?: SourceChoice | Source;
  /** Read the network namespace of this process (e.g. a container's) instead of ours. */
  netnsPid?: number;
  /** Attach owning processes (default true). */
  owners?: boolean;
}

export interface ScanResult {
  listeners: Listener[];
  source: SourceName;
  /** Wall time of the whole scan, attribution included. */
  durationMs: number;
  /**
   * The part of durationMs spent finding owners of sockets not seen before: paid per new
   * listener, not per scan, so the watcher's interval policy leaves it out.
   */
  attributionMs: number;
}

function unavailable(name: SourceName, why: string): PortwatchError {
  return new PortwatchError('ESOURCE_UNAVAILABLE', `source '${name}' is not available here: ${why}`);
}

function isRoot(): boolean {
  return typeof geteuid === 'function' && geteuid() === 0;
}

/** Picks the source. Throws PortwatchError('ESOURCE_UNAVAILABLE') with the reason. */
export function selectSource(choice: SourceChoice = 'auto', netnsPid?: number): Source {
  if (process.platform !== 'linux') {
    throw new PortwatchError('ESOURCE_UNAVAILABLE', `portwatch reads Linux socket tables; ${process.platform} is not supported yet`);
  }
  switch (choice) {
    case 'sockdiag': {
      const source = createSockDiagSource();
      if (!source) throw unavailable('sockdiag', sockDiagUnavailableReason() ?? 'the native addon did not load');
      return source;
    }
    case 'procfs':
      return createProcNetSource();
    case 'ss': {
      const source = createSsSource();
      if (!source) throw unavailable('ss', 'ss (iproute2) is not installed');
      return source;
    }
    case 'auto': {
      // Another namespace through sock_diag means setns(), which needs root; /proc does not.
      if (netnsPid === undefined || isRoot()) {
        const sockdiag = createSockDiagSource();
        if (sockdiag) return sockdiag;
      }
      return createProcNetSource();
    }
    default:
      throw new PortwatchError('EUSAGE', `unknown source '${String(choice)}' (use one of: ${SOURCE_CHOICES.join(', ')})`);
  }
}

export class Scanner {
  readonly source: Source;
  /** Sources passed in by the caller stay the caller's to close. */
  private readonly ownsSource: boolean;
  private readonly netnsPid: number | undefined;
  private readonly withOwners: boolean;
  /** Read once: a process (ours, or the target) does not change namespace under us. */
  private readonly netns: string | null;
  private readonly owners = new SocketOwners();
  /** Last known process per live inode (null: not found yet), stamped with the last scan that saw it. */
  private readonly processes = new Map<number, { info: ProcessInfo | null; pass: number }>();
  /** Scans so far: the stamp of the current one. */
  private passes = 0;
  /** Rows → sorted listeners; a socket that stays is the same object scan after scan. */
  private readonly stable = new StableListeners();

  constructor(options: ScanOptions = {}) {
    const { netnsPid } = options;
    if (netnsPid !== undefined && !processExists(netnsPid)) {
      throw new PortwatchError('ENOPROCESS', `no process with pid ${netnsPid}`);
    }
    this.netnsPid = netnsPid;
    this.netns = netnsOf(netnsPid);
    this.withOwners = options.owners ?? true;
    this.ownsSource = typeof options.source !== 'object';
    this.source = typeof options.source === 'object' ? options.source : selectSource(options.source, netnsPid);
  }

  /** `likelyOwners`: pids (or thread ids) a kernel event named; their fds are read before any walk. */
  async scan(likelyOwners: readonly number[] = []): Promise<ScanResult> {
    const started = process.hrtime.bigint();
    const target = this.netnsPid === undefined ? {} : { netnsPid: this.netnsPid };
    // A kept netlink socket would go on reading a dead process's namespace: check first.
    if (this.netnsPid !== undefined && !processExists(this.netnsPid)) {
      throw new PortwatchError('ENOPROCESS', `process ${this.netnsPid} has exited; its network namespace is no longer watched`);
    }
    const raws = await this.source.scan(target);
    const netns = this.netns;
    this.passes = (this.passes + 1) >>> 0; // stamps what this scan saw (see attribute)
    const pass = this.passes;
    const attributionStarted = process.hrtime.bigint();
    if (this.withOwners) await this.attribute(raws, pass, likelyOwners);
    const attributionMs = Number(process.hrtime.bigint() - attributionStarted) / 1e6;
    const listeners = this.stable.from(raws, netns, (inode) => this.processes.get(inode)?.info ?? null);
    const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
    return { listeners, source: this.source.name, durationMs, attributionMs };
  }

  /** How many times this scanner has walked /proc/<pid>/fd to find owners. */
  get walks(): number {
    return this.owners.stats.walks;
  }

  /** Releases what a source this scanner created keeps open between scans (a sock_diag socket is reopened if it scans again). */
  close(): void {
    if (this.ownsSource) this.source.close?.();
  }

  /**
   * Finds owners for inodes without one, in place. A quiet scan (no socket new, none gone)
   * costs one map lookup per socket: each entry is stamped with the scan that saw it, so
   * what is gone is known without building a set of the live ones.
   */
  private async attribute(raws: RawSocket[], pass: number, likelyOwners: readonly number[]): Promise<void> {
    const unknown: number[] = [];
    let seen = 0;
    for (const raw of raws) {
      if (raw.inode === 0) continue;
      const known = this.processes.get(raw.inode);
      if (known === undefined) {
        unknown.push(raw.inode);
        continue;
      }
      if (known.pass !== pass) {
        known.pass = pass;
        seen++;
      }
      if (known.info === null) unknown.push(raw.inode);
    }
    if (seen < this.processes.size) {
      // Some sockets are gone: forget them, here and in the owner walk's memory.
      for (const [inode, known] of this.processes) if (known.pass !== pass) this.processes.delete(inode);
      const live = new Set<number>();
      for (const raw of raws) if (raw.inode !== 0) live.add(raw.inode);
      this.owners.forget(live);
    }
    if (unknown.length === 0) return;
    const pids = await this.owners.resolve(unknown, likelyOwners);
    const infoByPid = new Map<number, ProcessInfo | null>();
    for (const inode of unknown) {
      const pid = pids.get(inode);
      let info: ProcessInfo | null = null;
      if (pid !== undefined) {
        if (!infoByPid.has(pid)) infoByPid.set(pid, readProcessInfo(pid));
        info = infoByPid.get(pid) ?? null;
      }
      this.processes.set(inode, { info, pass });
    }
  }
}

/** One look at the listening sockets. */
export async function scan(options: ScanOptions = {}): Promise<ScanResult> {
  const scanner = new Scanner(options);
  try {
    return await scanner.scan();
  } finally {
    scanner.close();
  }
}
