/**
 * Host mode's scanner: every network namespace on the machine in one process. The inventory
 * says which namespaces exist; each is held by a NamespaceHandle while it does (as root, one
 * sock_diag socket made inside it once); one owner index serves them all; listeners carry
 * their namespace and their container.
 *
 * A namespace is gone when no process links to it, no mount holds it, and a last read of it
 * shows no listener (a socket keeps its namespace alive: a listener passed to a process
 * elsewhere still lives there). Then its handle is closed and the kernel may reuse its inode.
 */
import { geteuid } from 'node:process';
import { PortwatchError } from '../errors.js';
import type { Listener } from '../listener.js';
import { netnsOf } from '../namespaces.js';
import { loadSockDiagAddon, sockDiagUnavailableReason, type SockDiagAddon } from '../sources/sock-diag-addon.js';
import { ContainerIndex } from './container-index.js';
import { HostContainers } from './host-containers.js';
import { HostOwners } from './host-owners.js';
import { Space } from './host-space.js';
import type { HostScannerOptions, HostScanResult, NamespaceInfo, RefreshResult } from './host-types.js';
import { NamespaceHandle, type HandleSource } from './namespace-handle.js';
import { NamespaceInventory } from './namespace-inventory.js';

export type { HostScannerOptions, HostScanResult, NamespaceInfo, RefreshResult } from './host-types.js';

/** Above this many namespaces to re-read, a walk for owners is cheaper than checking first. */
const RECHECK_MAX_SPACES = 8;

function compareNetns(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

function chooseAddon(source: string, root: boolean): SockDiagAddon | null {
  if (source === 'procfs') return null;
  if (source !== 'sockdiag' && source !== 'auto') {
    throw new PortwatchError('EUSAGE', `host mode reads namespaces with sockdiag or procfs, not '${source}'`);
  }
  const addon = loadSockDiagAddon();
  if (source === 'sockdiag' && addon === null) {
    throw new PortwatchError(
      'ESOURCE_UNAVAILABLE',
      `source 'sockdiag' is not available here: ${sockDiagUnavailableReason() ?? 'no addon'}`,
    );
  }
  if (source === 'sockdiag' && !root) {
    throw new PortwatchError('ESOURCE_UNAVAILABLE', "source 'sockdiag' in every namespace needs root (setns); use --source procfs");
  }
  return addon;
}

export class HostScanner {
  private readonly inventory: NamespaceInventory;
  private readonly owners: HostOwners;
  private readonly containers: HostContainers;
  private readonly spaces = new Map<string, Space>();
  private readonly addon: SockDiagAddon | null;
  private readonly enter: boolean;
  private readonly ownNetns: string | null;
  private readonly procRoot: string;
  private readonly withOwners: boolean;
  private closed = false;

  /** Throws PortwatchError: ESOURCE_UNAVAILABLE for a source that cannot work here, EUSAGE for a bad one. */
  constructor(options: HostScannerOptions = {}) {
    if (process.platform !== 'linux') throw new PortwatchError('ESOURCE_UNAVAILABLE', 'host mode reads Linux network namespaces');
    const root = typeof geteuid === 'function' && geteuid() === 0;
    this.addon = chooseAddon(options.source ?? 'auto', root);
    this.enter = root;
    this.procRoot = options.procRoot ?? '/proc';
    this.ownNetns = netnsOf(undefined, this.procRoot);
    this.inventory = new NamespaceInventory({ procRoot: this.procRoot });
    this.owners = new HostOwners(this.procRoot);
    this.withOwners = options.owners ?? true;
    const c = options.containers ?? true;
    const index = c === false ? null : new ContainerIndex({ ...(c === true ? {} : c), procRoot: this.procRoot });
    this.containers = new HostContainers(index, this.inventory, options.engineWaitMs ?? 250);
  }

  /** The source most namespaces are read with. */
  get source(): HandleSource {
    return this.addon !== null && this.enter ? 'sockdiag' : 'procfs';
  }

  get walks(): number {
    return this.owners.walks;
  }

  /** The container index (for its event stream), or null when containers are off. */
  get containerIndex(): ContainerIndex | null {
    return this.containers.index;
  }

  /**
   * Looks for namespaces that appeared or went away (new pids only, mounts), holds the new
   * ones and lets the gone ones go (each with the listeners it had at its last read).
   */
  refresh(): RefreshResult {
    const live = this.inventory.refresh();
    this.containers.generation++;
    this.containers.index?.forget((pid) => this.inventory.has(pid));
    const opened: string[] = [];
    for (const netns of live) {
      const space = this.spaces.get(netns);
      if (space === undefined) opened.push(this.hold(netns).netns);
      else if (this.inventory.touched.has(netns)) space.handle?.openProbe(this.inventory.membersOf(netns));
    }
    const closed: RefreshResult['closed'] = [];
    for (const [netns, space] of this.spaces) {
      if (live.has(netns) || this.stillHasListeners(space)) continue;
      closed.push({ namespace: this.describe(space), listeners: space.listeners });
      this.release(space);
    }
    return { opened, closed, touched: [...this.inventory.touched].filter((n) => this.spaces.has(n)) };
  }

  /** The namespace `tid` (a task a kernel event named) is in, held from now on; null when unknown. */
  taskNamespace(tid: number): { netns: string; opened: boolean } | null {
    const netns = this.inventory.taskNetns(tid);
    if (netns === null) return null;
    const opened = !this.spaces.has(netns);
    if (opened) this.hold(netns);
    return { netns, opened };
  }

  /** Namespaces that had a listener of this protocol on `port` at their last read. */
  namespacesWithPort(protocol: 'tcp' | 'udp', port: number): string[] {
    const out: string[] = [];
    for (const [netns, s] of this.spaces) if (s.listeners.some((l) => l.port === port && l.protocol === protocol)) out.push(netns);
    return out;
  }

  /** Whether `netns` changed since its last probe: true/false, or null when it has no probe (read it to know). */
  probe(netns: string): boolean | null {
    return this.spaces.get(netns)?.probe() ?? null;
  }

  /** Whether `netns` can be probed (else only a read tells whether it changed). */
  hasProbe(netns: string): boolean {
    return this.spaces.get(netns)?.handle?.probing ?? false;
  }

  /** The namespaces held, in no particular order (cheap: nothing is described). */
  netnsList(): string[] {
    return [...this.spaces.keys()];
  }

  /** Reads the namespaces named (default: every one) and returns their listeners. */
  async scan(which: Iterable<string> | 'all' = 'all', likely: readonly number[] = []): Promise<HostScanResult> {
    if (this.closed) throw new PortwatchError('ESCAN', 'the host scanner is closed');
    const started = performance.now();
    const targets = which === 'all' ? [...this.spaces.values()] : [...new Set(which)].flatMap((n) => this.spaces.get(n) ?? []);
    const reads: { space: Space; rows: NonNullable<ReturnType<Space['read']>>; readMs: number }[] = [];
    const unknown: number[] = [];
    for (const space of targets) {
      const readStarted = performance.now();
      const rows = space.read(this.inventory.membersOf(space.netns), readStarted);
      if (rows === null) continue;
      const taken = space.take(rows, this.owners);
      this.owners.forget(taken.gone);
      for (const inode of taken.unknown) unknown.push(inode);
      reads.push({ space, rows, readMs: performance.now() - readStarted });
    }
    const attributionStarted = performance.now();
    if (this.withOwners && unknown.length > 0) {
      const holding = reads.filter(({ space }) => unknown.some((i) => space.inodes.has(i))).map((r) => r.space);
      await this.owners.attribute(unknown, likely, (inodes) => this.stillListening(holding, inodes));
    }
    const attributionMs = performance.now() - attributionStarted;
    const bases = reads.map(({ space, rows, readMs }) => ({ space, readMs, bases: space.base(rows, this.owners) }));
    await this.containers.nameNew(bases);
    const scanned = bases.map(({ space, readMs, bases: b }) => {
      const previous = space.listeners;
      return { netns: space.netns, previous, listeners: space.settle(b, (l) => this.containers.of(l, space)), readMs };
    });
    const failed = targets.filter((s) => s.problem !== null).map((s) => s.netns);
    return { scanned, durationMs: performance.now() - started, attributionMs, failed };
  }

  /** Every listener as of the last reads: our own namespace first, then by namespace inode. */
  listeners(): Listener[] {
    return this.ordered().flatMap((s) => s.listeners);
  }

  /** The namespaces held now, in the order listeners() uses. */
  namespaces(): NamespaceInfo[] {
    return this.ordered().map((s) => this.describe(s));
  }

  /** One namespace as held now, or null when it is not. */
  namespace(netns: string): NamespaceInfo | null {
    const space = this.spaces.get(netns);
    return space === undefined ? null : this.describe(space);
  }

  /** Names containers again from what the index knows now (no read): the listeners whose `container` changed. */
  renameContainers(): Listener[] {
    return [...this.spaces.values()].flatMap((s) => s.resettle((l) => this.containers.of(l, s)));
  }

  /** What could not be seen, in sentences (empty when everything was). */
  missing(): string[] {
    const out: string[] = [];
    const unreadable = this.inventory.unreadable();
    if (unreadable > 0) {
      const why = this.enter
        ? 'refused even to root: processes of another pid namespace, or protected'
        : "other users' processes: run as root";
      out.push(`the network namespace of ${unreadable} process(es) could not be read (${why})`);
    }
    const failed = [...this.spaces.values()].filter((s) => s.problem !== null);
    if (failed.length > 0)
      out.push(`${failed.length} network namespace(s) could not be read, e.g. ${failed[0]!.netns}: ${failed[0]!.problem}`);
    return out;
  }

  /** Lets every namespace go. Idempotent. */
  close(): void {
    this.closed = true;
    for (const space of this.spaces.values()) space.close();
    this.spaces.clear();
  }

  private ordered(): Space[] {
    const own = this.ownNetns;
    return [...this.spaces.values()].sort((a, b) => (a.netns === own ? -1 : b.netns === own ? 1 : compareNetns(a.netns, b.netns)));
  }

  private describe(space: Space): NamespaceInfo {
    return {
      netns: space.netns,
      container: this.containers.ofSpace(space),
      source: space.source,
      processes: this.inventory.membersOf(space.netns).length,
      mounts: this.inventory.mountsOf(space.netns),
      problem: space.problem,
    };
  }

  private hold(netns: string): Space {
    const context = { addon: this.addon, enter: this.enter, ownNetns: this.ownNetns, procRoot: this.procRoot };
    const open = (): NamespaceHandle =>
      NamespaceHandle.open(netns, this.inventory.pathsOf(netns), context, this.inventory.membersOf(netns));
    const space = new Space(netns, open);
    this.spaces.set(netns, space);
    return space;
  }

  private release(space: Space): void {
    this.owners.forget(space.inodes);
    space.close();
    this.spaces.delete(space.netns);
  }

  /** A namespace no process or mount links to may still hold sockets: read it one last time. */
  private stillHasListeners(space: Space): boolean {
    if (space.source !== 'sockdiag') return false;
    const rows = space.read([], performance.now());
    return rows !== null && rows.length > 0;
  }

  /** Before a walk for owners: which inodes are still listening (re-read when few namespaces hold them). */
  private async stillListening(spaces: readonly Space[], inodes: readonly number[]): Promise<Set<number>> {
    if (spaces.length > RECHECK_MAX_SPACES) return new Set(inodes);
    const now = new Set<number>();
    for (const s of spaces) {
      const rows = s.read(this.inventory.membersOf(s.netns), performance.now());
      if (rows === null) return new Set(inodes);
      for (const r of rows) now.add(r.inode);
    }
    return new Set(inodes.filter((i) => now.has(i)));
  }
}
