/**
 * The sock_diag source: asks the kernel over netlink for listening sockets only, so its cost
 * does not grow with the number of established connections. Needs the native addon.
 *
 * The netlink socket is opened on the first scan and kept until close(): a watcher scanning
 * every 100 ms then pays only for the four request/reply round trips. Any failure closes it,
 * and the next scan opens a fresh one.
 *
 * The kernel reports the device a socket is bound to by index; names come from the scanned
 * namespace's /proc files, read only when a bound socket shows up (interface-names.ts).
 */
import { endianness } from 'node:os';
import { PortwatchError } from '../errors.js';
import type { Family, Protocol } from '../listener.js';
import { buildInetDiagRequest, parseInetDiagDump, TCP_LISTEN_STATES, UDP_UNCONNECTED_STATES } from '../parse/sock-diag.js';
import { InterfaceNames } from './interface-names.js';
import { loadSockDiagAddon } from './sock-diag-addon.js';
import type { ChangePolicy, ChangeWatch, RawSocket, ScanTarget, Source } from './source.js';

interface Dump {
  protocol: Protocol;
  family: Family;
  request: Buffer;
  /** The last reply (volatile fields zeroed by the addon) and what was parsed from it. */
  last: Parsed | null;
}

interface Parsed {
  reply: Buffer;
  sockets: RawSocket[];
  atMs: number;
  /** A socket is bound to a device: its name may change while the reply does not. */
  named: boolean;
}

/** How long sockets parsed from an unchanged reply are kept when one names a device (InterfaceNames' own age). */
const NAMES_MAX_AGE_MS = 5_000;

/** Offset of nlmsg_seq in struct nlmsghdr. */
const SEQ_OFFSET = 8;
const LITTLE_ENDIAN = endianness() === 'LE';

function dumpOf(protocol: Protocol, family: Family): Dump {
  const states = protocol === 'tcp' ? TCP_LISTEN_STATES : UDP_UNCONNECTED_STATES;
  return { protocol, family, request: buildInetDiagRequest({ family, protocol, states, seq: 1 }), last: null };
}

function describe(dump: Dump): string {
  return `${dump.protocol}/IPv${dump.family}`;
}

function validPid(pid: number | undefined): void {
  if (pid !== undefined && !(Number.isSafeInteger(pid) && pid > 0)) {
    throw new PortwatchError('EUSAGE', `netnsPid must be a positive integer, got ${String(pid)}`);
  }
}

/** A sock_diag source, or null when the native addon is unavailable (see sockDiagUnavailableReason). */
export function createSockDiagSource(): Source | null {
  const addon = loadSockDiagAddon();
  if (!addon) return null;
  // Request buffers are built once per source and reused; only the sequence number changes.
  const dumps: readonly Dump[] = [dumpOf('tcp', 4), dumpOf('tcp', 6), dumpOf('udp', 4), dumpOf('udp', 6)];
  let open: { fd: number; netnsPid: number | undefined } | null = null;
  let seq = 0;
  const interfaceNames = new InterfaceNames();
  /** The last scan's sockets: handed out again, the same array, while no reply changed. */
  let lastSockets: RawSocket[] | null = null;

  const closeSocket = (): void => {
    for (const dump of dumps) dump.last = null;
    lastSockets = null;
    if (open === null) return;
    const { fd } = open;
    open = null;
    try {
      addon.closeSocket(fd);
    } catch {
      // nothing left to release
    }
  };

  const socketFor = (pid: number | undefined): number => {
    if (open !== null && open.netnsPid === pid) return open.fd;
    closeSocket();
    try {
      const fd = pid === undefined ? addon.openSocket() : addon.openSocket(`/proc/${pid}/ns/net`);
      open = { fd, netnsPid: pid };
      return fd;
    } catch (e) {
      throw scanError(e, null, pid);
    }
  };

  return {
    name: 'sockdiag',
    async scan(target: ScanTarget): Promise<RawSocket[]> {
      const pid = target.netnsPid;
      validPid(pid);
      const fd = socketFor(pid);
      const interfaceName = interfaceNames.resolverFor(pid === undefined ? 'self' : String(pid));
      let changed = false;
      for (const dump of dumps) {
        seq = (seq + 1) >>> 0;
        if (LITTLE_ENDIAN) dump.request.writeUInt32LE(seq, SEQ_OFFSET);
        else dump.request.writeUInt32BE(seq, SEQ_OFFSET);
        const last = dump.last;
        let reply: Buffer;
        try {
          // The addon hands `last.reply` back when nothing but queue lengths changed.
          reply = addon.dumpOn(fd, dump.request, last?.reply ?? null);
        } catch (e) {
          closeSocket();
          throw scanError(e, dump, pid);
        }
        const now = performance.now();
        if (last !== null && reply === last.reply && (!last.named || now - last.atMs < NAMES_MAX_AGE_MS)) continue;
        const parsed = parseInetDiagDump(reply, dump.protocol, interfaceName);
        if (parsed.error !== null || !parsed.done) {
          closeSocket();
          const why = parsed.error !== null ? `kernel error ${parsed.error}` : 'reply ended before NLMSG_DONE';
          throw new PortwatchError('ESCAN', `sock_diag dump of ${describe(dump)} failed: ${why}; use --source procfs`);
        }
        const named = parsed.sockets.some((socket) => socket.interface !== undefined && socket.interface !== null);
        dump.last = { reply, sockets: parsed.sockets, atMs: now, named };
        changed = true;
      }
      if (!changed && lastSockets !== null) return lastSockets;
      const sockets: RawSocket[] = [];
      for (const dump of dumps) for (const socket of (dump.last as Parsed).sockets) sockets.push(socket);
      lastSockets = sockets;
      return sockets;
    },
    close: closeSocket,
    watchChanges(target: ScanTarget, policy: ChangePolicy, changed: () => void, failed: (error: Error) => void): ChangeWatch | null {
      const { pollStart, pollStop, pollStats } = addon;
      if (pollStart === undefined || pollStop === undefined || pollStats === undefined) return null;
      const pid = target.netnsPid;
      validPid(pid);
      // The scans' own socket, shared (the addon keeps a dup and takes turns): one per source.
      const fd = socketFor(pid);
      let stopped = false;
      const onEvent = (kind: 'change' | 'error', code?: string, message?: string): void => {
        if (stopped) return;
        if (kind === 'change') return changed();
        stopped = true;
        failed(new PortwatchError('ESCAN', `the sock_diag poller stopped: ${message ?? code ?? 'unknown error'}`));
      };
      let handle;
      try {
        // The addon copies the requests: later scans rewriting their sequence numbers do not touch its own.
        handle = pollStart(
          fd,
          dumps.map((dump) => dump.request),
          policy,
          onEvent,
          // The same namespace's socket counts: /proc/<pid>/net is the net namespace of <pid>.
          pid === undefined ? '/proc/self/net' : `/proc/${pid}/net`,
        );
      } catch (e) {
        throw scanError(e, null, pid);
      }
      return {
        stop: () => {
          stopped = true;
          pollStop(handle);
        },
        stats: () => pollStats(handle),
      };
    },
  };
}

/** Turns the addon's system error into one that says what to do. */
function scanError(e: unknown, dump: Dump | null, pid: number | undefined): PortwatchError {
  const { code, syscall } = (e ?? {}) as { code?: unknown; syscall?: unknown };
  const detail = e instanceof Error ? e.message : String(e);
  const what = dump === null ? 'opening a sock_diag socket' : `sock_diag dump of ${describe(dump)}`;
  if (pid !== undefined && syscall === 'open' && (code === 'ENOENT' || code === 'ESRCH')) {
    return new PortwatchError('ENOPROCESS', `no process with pid ${pid}`, { cause: e });
  }
  if (pid !== undefined && (code === 'EPERM' || code === 'EACCES') && (syscall === 'open' || syscall === 'setns')) {
    return new PortwatchError(
      'ESCAN',
      `reading the network namespace of pid ${pid} through sock_diag needs root (CAP_SYS_ADMIN) ` +
        `and access to /proc/${pid}/ns/net (${detail}); use --source procfs`,
      { cause: e },
    );
  }
  if (syscall === 'sock_diag' && dump !== null) {
    return new PortwatchError(
      'ESCAN',
      `the kernel refused the ${what} (${String(code)}: ${detail}); ` + 'it may lack inet_diag/udp_diag support; use --source procfs',
      { cause: e },
    );
  }
  return new PortwatchError('ESCAN', `${what} failed: ${detail}`, { cause: e });
}
