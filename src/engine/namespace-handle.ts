/**
 * One network namespace held open for as long as it exists, and read on demand.
 *
 * As root, a sock_diag socket is created inside the namespace once (setns() through an fd
 * of the namespace file, verified by inode first, so a pid that changed namespace between
 * the readlink and the open is caught) and kept: each read is four netlink round trips. The
 * socket holds a reference on its namespace, so the kernel keeps the namespace, and its
 * inode cannot be given to another one, for as long as we hold it: the inode stays a
 * faithful identity while we track the namespace. The namespace fd itself is closed once
 * the socket exists (one fd per namespace, not two).
 *
 * Without root (or with source 'procfs'), the namespace is read from /proc/<pid>/net of one
 * of its processes, and its file is kept open to pin it the same way when we may open it.
 *
 * Each handle also keeps a SockstatProbe when it can (namespace-probe.ts): a cheap look at
 * whether a read is worth it.
 */
import { closeSync, fstatSync, openSync } from 'node:fs';
import { endianness, release } from 'node:os';
import { PortwatchError } from '../errors.js';
import type { Family, Protocol } from '../listener.js';
import { buildInetDiagRequest, parseInetDiagDump, TCP_LISTEN_STATES, UDP_UNCONNECTED_STATES } from '../parse/sock-diag.js';
import { InterfaceNames } from '../sources/interface-names.js';
import { readProcNetFile, tcpListenersComeFirst } from '../sources/proc-net.js';
import type { SockDiagAddon } from '../sources/sock-diag-addon.js';
import type { RawSocket } from '../types.js';
import { linksTo, SockstatProbe } from './namespace-probe.js';

export type HandleSource = 'sockdiag' | 'procfs';

interface Dump {
  protocol: Protocol;
  family: Family;
  request: Buffer;
}

const SEQ_OFFSET = 8;
const LITTLE_ENDIAN = endianness() === 'LE';
const DUMPS: readonly Dump[] = (
  [
    ['tcp', 4],
    ['tcp', 6],
    ['udp', 4],
    ['udp', 6],
  ] as const
).map(([protocol, family]) => ({
  protocol,
  family,
  request: buildInetDiagRequest({ family, protocol, states: protocol === 'tcp' ? TCP_LISTEN_STATES : UDP_UNCONNECTED_STATES, seq: 1 }),
}));
const PROC_FILES: ReadonlyArray<{ file: string; protocol: Protocol; family: Family }> = [
  { file: 'tcp', protocol: 'tcp', family: 4 },
  { file: 'tcp6', protocol: 'tcp', family: 6 },
  { file: 'udp', protocol: 'udp', family: 4 },
  { file: 'udp6', protocol: 'udp', family: 6 },
];
const TCP_STOPS_EARLY = tcpListenersComeFirst(release());
let seq = 0;

/** Opens the first path that is the namespace `netns` (checked by inode); null when none is. */
function openVerified(netns: string, paths: readonly string[]): number | null {
  for (const path of paths) {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch {
      continue; // gone, or not ours to open
    }
    try {
      if (String(fstatSync(fd, { bigint: true }).ino) === netns) return fd;
    } catch {
      // fall through: not usable
    }
    closeSync(fd);
  }
  return null;
}

export interface HandleContext {
  addon: SockDiagAddon | null;
  /** Use sock_diag for namespaces other than our own (root: setns needs CAP_SYS_ADMIN). */
  enter: boolean;
  /** Our own namespace: read without setns. */
  ownNetns: string | null;
  procRoot: string;
}

export class NamespaceHandle {
  private readonly interfaceNames: InterfaceNames;
  private readonly buf = Buffer.allocUnsafe(4096);
  private closed = false;
  /** sockstat and sockstat6 of the namespace, open; null when they could not be opened. */
  private prober: SockstatProbe | null = null;

  private constructor(
    readonly netns: string,
    readonly source: HandleSource,
    private readonly addon: SockDiagAddon | null,
    /** The sock_diag socket (source 'sockdiag') or the pinning namespace fd (procfs; may be null). */
    private fd: number | null,
    private readonly procRoot: string,
  ) {
    this.interfaceNames = new InterfaceNames(procRoot);
  }

  /**
   * Holds `netns`, opened through one of `paths`. Throws PortwatchError('ESCAN') when it
   * cannot be held the way `context` asks (the caller says what is missing).
   */
  static open(netns: string, paths: readonly string[], context: HandleContext, members: readonly number[] = []): NamespaceHandle {
    const handle = NamespaceHandle.hold(netns, paths, context);
    handle.openProbe(members);
    return handle;
  }

  private static hold(netns: string, paths: readonly string[], context: HandleContext): NamespaceHandle {
    const { addon } = context;
    if (addon !== null && netns === context.ownNetns) {
      return new NamespaceHandle(netns, 'sockdiag', addon, addon.openSocket(), context.procRoot);
    }
    const nsFd = openVerified(netns, paths);
    if (addon === null || !context.enter) return new NamespaceHandle(netns, 'procfs', null, nsFd, context.procRoot);
    if (nsFd === null) throw new PortwatchError('ESCAN', `network namespace ${netns} could not be opened (it may be gone)`);
    try {
      return new NamespaceHandle(netns, 'sockdiag', addon, addon.openSocket(`/proc/self/fd/${nsFd}`), context.procRoot);
    } catch (e) {
      throw new PortwatchError('ESCAN', `cannot enter network namespace ${netns}: ${(e as Error).message}`, { cause: e });
    } finally {
      closeSync(nsFd);
    }
  }

  /**
   * The namespace's listening sockets. `members` are processes last seen in it: the first
   * names bound devices; procfs reads through the first that is still in it (checked by its
   * link), and throws ESCAN when none is.
   */
  read(members: readonly number[]): RawSocket[] {
    if (this.closed) throw new PortwatchError('ESCAN', `network namespace ${this.netns} is no longer held`);
    if (this.source === 'sockdiag') return this.readSockDiag(members[0] === undefined ? null : String(members[0]));
    const member = members.find((pid) => linksTo(this.procRoot, pid, this.netns));
    return this.readProc(member === undefined ? null : String(member));
  }

  /** Whether a probe is open (else only a read can tell whether something changed). */
  get probing(): boolean {
    return this.prober?.open ?? false;
  }

  /** Did the namespace's socket counts change since the last probe? null without a probe. */
  probe(): boolean | null {
    return this.prober?.changed() ?? null;
  }

  /** Opens the probe through a process of the namespace, if it has none yet. */
  openProbe(members: readonly number[]): void {
    if (this.probing || this.closed) return;
    this.prober = SockstatProbe.open(this.netns, members, this.procRoot);
  }

  /** Lets the namespace go. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.prober?.close();
    const fd = this.fd;
    this.fd = null;
    if (fd === null) return;
    try {
      if (this.source === 'sockdiag') this.addon?.closeSocket(fd);
      else closeSync(fd);
    } catch {
      // nothing left to release
    }
  }

  private readSockDiag(who: string | null): RawSocket[] {
    const addon = this.addon as SockDiagAddon;
    const fd = this.fd as number;
    const names = who === null ? () => null : this.interfaceNames.resolverFor(who);
    const sockets: RawSocket[] = [];
    for (const dump of DUMPS) {
      seq = (seq + 1) >>> 0;
      if (LITTLE_ENDIAN) dump.request.writeUInt32LE(seq, SEQ_OFFSET);
      else dump.request.writeUInt32BE(seq, SEQ_OFFSET);
      let reply: Buffer;
      try {
        reply = addon.dumpOn(fd, dump.request);
      } catch (e) {
        throw new PortwatchError(
          'ESCAN',
          `sock_diag dump of ${dump.protocol}/IPv${dump.family} in netns ${this.netns} failed: ${(e as Error).message}`,
          { cause: e },
        );
      }
      const parsed = parseInetDiagDump(reply, dump.protocol, names);
      if (parsed.error !== null || !parsed.done) {
        const why = parsed.error !== null ? `kernel error ${parsed.error}` : 'reply ended before NLMSG_DONE';
        throw new PortwatchError('ESCAN', `sock_diag dump of ${dump.protocol}/IPv${dump.family} in netns ${this.netns} failed: ${why}`);
      }
      for (const socket of parsed.sockets) sockets.push(socket);
    }
    return sockets;
  }

  private readProc(who: string | null): RawSocket[] {
    if (who === null) {
      throw new PortwatchError(
        'ESCAN',
        `network namespace ${this.netns} has no process to read /proc/<pid>/net from (reading it needs root)`,
      );
    }
    const out: RawSocket[] = [];
    for (const { file, protocol, family } of PROC_FILES) {
      const path = `${this.procRoot}/${who}/net/${file}`;
      try {
        readProcNetFile(path, protocol, family, this.buf, out, protocol === 'tcp' && TCP_STOPS_EARLY);
      } catch (e) {
        throw new PortwatchError('ESCAN', `cannot read ${path}: ${(e as Error).message}`, { cause: e });
      }
    }
    return out;
  }
}
