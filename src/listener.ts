/**
 * The public data model: what a listening socket is, and what an event about one is.
 * Everything above the sources speaks only these types.
 */

export type Protocol = 'tcp' | 'udp';
export type Family = 4 | 6;

/** The process that holds a listening socket, as far as /proc lets us know it. */
export interface ProcessInfo {
  pid: number;
  /** Parent pid, or null when /proc/<pid>/stat could not be read. */
  ppid: number | null;
  /** The kernel's short name (/proc/<pid>/comm). */
  name: string;
  /** Command line with NULs as spaces, capped at {@link COMMAND_MAX_BYTES}. */
  command: string;
  /** Effective uid of the process, or null when unknown. */
  uid: number | null;
}

/** A process holding a socket: its pid and its kernel short name (/proc/<pid>/comm). */
export interface ProcessRef {
  pid: number;
  name: string;
}

/** One listening socket: a TCP socket in LISTEN, or a bound, unconnected UDP socket. */
export interface Listener {
  protocol: Protocol;
  family: Family;
  /** Canonical text form: dotted IPv4, RFC 5952 IPv6 (IPv4-mapped stays IPv6). */
  address: string;
  port: number;
  /** True when an IPv6 wildcard socket also accepts IPv4; null when the source cannot tell. */
  dualStack: boolean | null;
  /**
   * The device the socket is bound to: SO_BINDTODEVICE, or the scope of a link-local
   * address (`fe80::1%eth0`). `if<index>` when the name is unknown; null when the socket is
   * not bound to a device, or the source cannot see it (procfs never can).
   */
  interface: string | null;
  /** Socket inode: the identity of the socket while it lives. */
  inode: number;
  /** Owner uid of the socket as the kernel reports it. */
  uid: number;
  /** Network namespace inode as a decimal string, or null when unknown. */
  netns: string | null;
  /**
   * The owning process, or null when it cannot be known. Never guessed. When several
   * processes hold the socket (a pre-forked server), the one a user would act on: the holder
   * that is an ancestor of all the others (the master), else the one with the lowest pid.
   */
  process: ProcessInfo | null;
  /**
   * Every process holding the socket, by pid ascending, the owner included; [] when the owner
   * is unknown. As found when the socket was first seen. Always present on listeners a scan
   * returns (optional only so that listeners built by hand need not spell it).
   */
  holders?: ProcessRef[];
  /**
   * The container the socket lives in, or null on the host or when unknown (never guessed).
   * Set by host mode (`--all-namespaces`); absent on listeners of a single-namespace scan.
   */
  container?: ListenerContainer | null;
}

/** A listener's container: the id from the owner's cgroup, the rest from the engine when it answers. */
export interface ListenerContainer {
  /** The full 64-hex id the runtime knows the container by. */
  id: string;
  /** The engine's name for it (Docker's without the leading `/`), or null when no engine said. */
  name: string | null;
  /** What runs it: docker, podman, containerd, cri-o, or kubernetes (a pod's container, engine not named). */
  runtime: string;
  /** The image it was created from (`busybox:1.36`), or null when no engine said. */
  image: string | null;
  /** Kubernetes pod name and namespace (labels `io.kubernetes.pod.name`, `.namespace`), or null. */
  pod: string | null;
  namespace: string | null;
}

export type PortEventType = 'open' | 'close';

export interface PortEvent {
  type: PortEventType;
  /** ISO 8601 time of the scan that saw the change. */
  time: string;
  listener: Listener;
}

/** Command lines are cut at this many bytes, so a huge command line costs nothing. */
export const COMMAND_MAX_BYTES = 4096;

/** `fe80::1%eth0`: the address with its device, as zone ids are written. */
function scopedAddress(address: string, device: string | null | undefined): string {
  return device === null || device === undefined ? address : `${address}%${device}`;
}

/**
 * Identity of a listener: a restarted server on the same port is a different listener.
 * (`interface` may be missing on objects built before it existed: read as null.)
 */
export function listenerKey(
  l: Pick<Listener, 'netns' | 'protocol' | 'address' | 'port' | 'inode'> & { interface?: string | null },
): string {
  return `${l.netns ?? '-'}|${l.protocol}|${scopedAddress(l.address, l.interface)}|${l.port}|${l.inode}`;
}

/**
 * Whether two listeners are the same socket: exactly `listenerKey(a) === listenerKey(b)`,
 * without building strings when the fields already agree (the usual case on every scan).
 */
export function sameListener(a: Listener, b: Listener): boolean {
  if (a === b) return true;
  if (a.inode !== b.inode || a.port !== b.port) return false;
  if (
    a.protocol === b.protocol &&
    a.address === b.address &&
    (a.interface ?? null) === (b.interface ?? null) &&
    (a.netns ?? '-') === (b.netns ?? '-')
  ) {
    return true;
  }
  // Fields that differ can still spell the same key (`fe80::1` on eth0 and `fe80::1%eth0`).
  return listenerKey(a) === listenerKey(b);
}

/** How people write a listener's endpoint: `127.0.0.1:80`, `0.0.0.0%lo:80`, `[fe80::1%eth0]:80`. */
export function displayAddress(l: Pick<Listener, 'family' | 'address' | 'port'> & { interface?: string | null }): string {
  const host = scopedAddress(l.address, l.interface);
  return l.family === 6 ? `[${host}]:${l.port}` : `${host}:${l.port}`;
}

/** Stable order: protocol, port, family, address, interface, inode. */
export function compareListeners(a: Listener, b: Listener): number {
  if (a.protocol !== b.protocol) return a.protocol < b.protocol ? -1 : 1;
  if (a.port !== b.port) return a.port - b.port;
  if (a.family !== b.family) return a.family - b.family;
  if (a.address !== b.address) return a.address < b.address ? -1 : 1;
  const ai = a.interface ?? '';
  const bi = b.interface ?? '';
  if (ai !== bi) return ai < bi ? -1 : 1;
  return a.inode - b.inode;
}
