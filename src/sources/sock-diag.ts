/**
 * The sock_diag source: asks the kernel over netlink for listening sockets only, so its cost
 * does not grow with the number of established connections. Needs the native addon.
 */
import { PortwatchError } from '../errors.js';
import type { Family, Protocol } from '../listener.js';
import { buildInetDiagRequest, parseInetDiagDump, TCP_LISTEN_STATES, UDP_UNCONNECTED_STATES } from '../parse/sock-diag.js';
import { loadSockDiagAddon, type SockDiagAddon } from './sock-diag-addon.js';
import type { RawSocket, ScanTarget, Source } from './source.js';

interface Dump {
  protocol: Protocol;
  family: Family;
  request: Buffer;
}

function dumpOf(protocol: Protocol, family: Family): Dump {
  const states = protocol === 'tcp' ? TCP_LISTEN_STATES : UDP_UNCONNECTED_STATES;
  // Every dump gets a fresh netlink socket, so one fixed sequence number serves them all.
  return { protocol, family, request: buildInetDiagRequest({ family, protocol, states, seq: 1 }) };
}

// Built once: a scan reuses these request buffers.
const DUMPS: readonly Dump[] = [dumpOf('tcp', 4), dumpOf('tcp', 6), dumpOf('udp', 4), dumpOf('udp', 6)];

/** A sock_diag source, or null when the native addon is unavailable (see sockDiagUnavailableReason). */
export function createSockDiagSource(): Source | null {
  const addon = loadSockDiagAddon();
  if (!addon) return null;
  return {
    name: 'sockdiag',
    scan: async (target: ScanTarget) => scan(addon, target),
  };
}

function scan(addon: SockDiagAddon, target: ScanTarget): RawSocket[] {
  const pid = target.netnsPid;
  if (pid !== undefined && !(Number.isSafeInteger(pid) && pid > 0)) {
    throw new PortwatchError('EUSAGE', `netnsPid must be a positive integer, got ${String(pid)}`);
  }
  const netnsPath = pid === undefined ? undefined : `/proc/${pid}/ns/net`;
  const sockets: RawSocket[] = [];
  for (const dump of DUMPS) {
    let reply: Buffer;
    try {
      reply = addon.dump(dump.request, netnsPath);
    } catch (e) {
      throw scanError(e, dump, pid);
    }
    const parsed = parseInetDiagDump(reply, dump.protocol);
    if (parsed.error !== null || !parsed.done) {
      const why = parsed.error !== null ? `kernel error ${parsed.error}` : 'reply ended before NLMSG_DONE';
      throw new PortwatchError('ESCAN', `sock_diag dump of ${describe(dump)} failed: ${why}; use --source procfs`);
    }
    for (const socket of parsed.sockets) sockets.push(socket);
  }
  return sockets;
}

function describe(dump: Dump): string {
  return `${dump.protocol}/IPv${dump.family}`;
}

/** Turns the addon's system error into one that says what to do. */
function scanError(e: unknown, dump: Dump, pid: number | undefined): PortwatchError {
  const { code, syscall } = (e ?? {}) as { code?: unknown; syscall?: unknown };
  const detail = e instanceof Error ? e.message : String(e);
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
  if (syscall === 'sock_diag') {
    return new PortwatchError(
      'ESCAN',
      `the kernel refused the sock_diag dump of ${describe(dump)} (${String(code)}: ${detail}); ` +
        'it may lack inet_diag/udp_diag support; use --source procfs',
      { cause: e },
    );
  }
  return new PortwatchError('ESCAN', `sock_diag dump of ${describe(dump)} failed: ${detail}`, { cause: e });
}
