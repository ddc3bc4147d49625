/**
 * Netlink sock_diag (inet_diag) messages: build the dump request, parse the kernel's reply.
 * Pure and total: parsing never throws and never reads past the buffer, whatever the bytes.
 *
 * Layouts (include/uapi/linux/netlink.h, inet_diag.h). Netlink headers and most fields are
 * in host byte order; ports and addresses are in network byte order.
 *   nlmsghdr            16 bytes: len u32, type u16, flags u16, seq u32, pid u32
 *   inet_diag_req_v2    56 bytes: family u8, protocol u8, ext u8, pad u8, states u32, sockid
 *   inet_diag_msg       72 bytes: family u8, state u8, timer u8, retrans u8, sockid,
 *                                 expires u32, rqueue u32, wqueue u32, uid u32, inode u32
 *   inet_diag_sockid    48 bytes: sport be16, dport be16, src 16, dst 16, if u32, cookie 8
 *                       (`if` is the device the socket is bound to: SO_BINDTODEVICE, or the
 *                       scope of a link-local address; 0 when not bound)
 *   rtattr               4 bytes: len u16, type u16, then data; records aligned to 4
 */
import { endianness } from 'node:os';
import type { Protocol } from '../listener.js';
import type { RawSocket } from '../types.js';
import { formatIPv4, formatIPv6 } from './address.js';

const TCP_LISTEN_STATE = 10;
/** UDP reuses TCP state numbers: bound and unconnected is TCP_CLOSE, connected is ESTABLISHED. */
const TCP_CLOSE_STATE = 7;

/** TCPF_LISTEN: with only this state the kernel never walks the established hash. */
export const TCP_LISTEN_STATES = 1 << TCP_LISTEN_STATE;
/** TCPF_CLOSE: a bound, unconnected UDP socket. */
export const UDP_UNCONNECTED_STATES = 1 << TCP_CLOSE_STATE;

const NLMSG_HDRLEN = 16;
const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const SOCK_DIAG_BY_FAMILY = 20;
const NLM_F_REQUEST = 0x1;
const NLM_F_DUMP = 0x300;
const INET_DIAG_REQ_V2_LEN = 56;
const INET_DIAG_MSG_LEN = 72;
const RTA_HDRLEN = 4;
/** Attribute types carry NLA_F_NESTED / NLA_F_NET_BYTEORDER in their top bits. */
const NLA_TYPE_MASK = 0x3fff;
const INET_DIAG_SKV6ONLY = 11;
const AF_INET = 2;
const AF_INET6 = 10;

// Offsets inside inet_diag_msg.
const MSG_STATE = 1;
const MSG_SPORT = 4;
const MSG_DPORT = 6;
const MSG_SRC = 8;
const MSG_DST = 24;
const MSG_IF = 40;
const MSG_UID = 64;
const MSG_INODE = 68;

const LITTLE_ENDIAN = endianness() === 'LE';

function u16(b: Buffer, offset: number): number {
  return LITTLE_ENDIAN ? b.readUInt16LE(offset) : b.readUInt16BE(offset);
}

function u32(b: Buffer, offset: number): number {
  return LITTLE_ENDIAN ? b.readUInt32LE(offset) : b.readUInt32BE(offset);
}

function i32(b: Buffer, offset: number): number {
  return LITTLE_ENDIAN ? b.readInt32LE(offset) : b.readInt32BE(offset);
}

/** NLMSG_ALIGN / RTA_ALIGN. Arithmetic, not `& ~3`: bit operations wrap lengths of 2 GiB and up. */
function align4(n: number): number {
  return Math.ceil(n / 4) * 4;
}

export interface InetDiagRequestOptions {
  family: 4 | 6;
  protocol: Protocol;
  /** Bit mask of TCP states (1 << state), e.g. {@link TCP_LISTEN_STATES}. */
  states: number;
  seq: number;
}

/** A complete SOCK_DIAG_BY_FAMILY dump request: nlmsghdr + inet_diag_req_v2, zeroed socket id. */
export function buildInetDiagRequest(opts: InetDiagRequestOptions): Buffer {
  const length = NLMSG_HDRLEN + INET_DIAG_REQ_V2_LEN;
  const b = Buffer.alloc(length);
  const put16 = LITTLE_ENDIAN ? b.writeUInt16LE.bind(b) : b.writeUInt16BE.bind(b);
  const put32 = LITTLE_ENDIAN ? b.writeUInt32LE.bind(b) : b.writeUInt32BE.bind(b);
  put32(length, 0);
  put16(SOCK_DIAG_BY_FAMILY, 4);
  put16(NLM_F_REQUEST | NLM_F_DUMP, 6);
  put32(opts.seq >>> 0, 8);
  // nlmsg_pid 0: the kernel assigns our port id.
  b[NLMSG_HDRLEN] = opts.family === 4 ? AF_INET : AF_INET6;
  b[NLMSG_HDRLEN + 1] = opts.protocol === 'tcp' ? 6 : 17;
  put32(opts.states >>> 0, NLMSG_HDRLEN + 4);
  return b;
}

export interface InetDiagDump {
  /** Listening sockets: TCP in LISTEN, UDP bound and unconnected. */
  sockets: RawSocket[];
  /** Malformed or truncated records that were passed over. */
  skipped: number;
  /** The reply reached NLMSG_DONE. */
  done: boolean;
  /** Positive errno from NLMSG_ERROR, or from NLMSG_DONE when the dump itself failed. */
  error: number | null;
}

/** Name of the interface with this index in the socket's namespace, or null when unknown. */
export type InterfaceNameOf = (index: number) => string | null;

/** `if<index>`: how iproute2 writes an interface whose name it cannot find. */
export function unnamedInterface(index: number): string {
  return `if${index}`;
}

/**
 * Parses the concatenated reply datagrams of one dump. Sockets in other states are dropped
 * (not counted as skipped) even though the request already asked the kernel to filter: the
 * result must not depend on the kernel honouring the state mask. `interfaceName` turns a
 * bound device's index into its name; without it (or when it does not know the index) the
 * device is `if<index>`.
 */
export function parseInetDiagDump(bytes: Uint8Array, protocol: Protocol, interfaceName?: InterfaceNameOf): InetDiagDump {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const result: InetDiagDump = { sockets: [], skipped: 0, done: false, error: null };
  for (let offset = 0; offset < buf.length;) {
    const len = buf.length - offset >= NLMSG_HDRLEN ? u32(buf, offset) : 0;
    // A bad length leaves no way to find the next record: count it and stop.
    if (len < NLMSG_HDRLEN || len > buf.length - offset) {
      result.skipped++;
      break;
    }
    const type = u16(buf, offset + 4);
    const body = offset + NLMSG_HDRLEN;
    const end = offset + len;
    if (type === NLMSG_DONE || type === NLMSG_ERROR) {
      finish(result, buf, type, body, end);
      break;
    }
    if (type === SOCK_DIAG_BY_FAMILY) readSocket(result, buf, body, end, protocol, interfaceName);
    offset += align4(len);
  }
  return result;
}

/** DONE and ERROR both start with an int: 0, or a negative errno. */
function finish(result: InetDiagDump, buf: Buffer, type: number, body: number, end: number): void {
  const status = end - body >= 4 ? i32(buf, body) : null;
  if (type === NLMSG_DONE) {
    result.done = true;
    if (status !== null && status < 0) result.error = -status;
  } else if (status === null) {
    result.skipped++;
  } else if (status < 0) {
    result.error = -status;
  }
}

function readSocket(
  result: InetDiagDump,
  buf: Buffer,
  body: number,
  end: number,
  protocol: Protocol,
  interfaceName: InterfaceNameOf | undefined,
): void {
  const familyByte = buf[body];
  if (end - body < INET_DIAG_MSG_LEN || (familyByte !== AF_INET && familyByte !== AF_INET6)) {
    result.skipped++;
    return;
  }
  const family = familyByte === AF_INET ? 4 : 6;
  if (!isListening(buf, body, family, protocol)) return;
  const v6only = family === 6 ? readV6Only(buf, body + INET_DIAG_MSG_LEN, end) : null;
  if (v6only === undefined) {
    result.skipped++;
    return;
  }
  result.sockets.push({
    protocol,
    family,
    address: family === 4 ? formatIPv4(buf, body + MSG_SRC) : formatIPv6(buf, body + MSG_SRC),
    port: buf.readUInt16BE(body + MSG_SPORT),
    inode: u32(buf, body + MSG_INODE),
    uid: u32(buf, body + MSG_UID),
    v6only,
    interface: boundInterface(u32(buf, body + MSG_IF), interfaceName),
  });
}

function boundInterface(index: number, interfaceName: InterfaceNameOf | undefined): string | null {
  if (index === 0) return null;
  return interfaceName?.(index) ?? unnamedInterface(index);
}

function isListening(buf: Buffer, body: number, family: 4 | 6, protocol: Protocol): boolean {
  const state = buf[body + MSG_STATE];
  if (protocol === 'tcp') return state === TCP_LISTEN_STATE;
  if (state !== TCP_CLOSE_STATE || buf.readUInt16BE(body + MSG_DPORT) !== 0) return false;
  const dstEnd = body + MSG_DST + (family === 4 ? 4 : 16);
  for (let i = body + MSG_DST; i < dstEnd; i++) if (buf[i] !== 0) return false;
  return true;
}

/** INET_DIAG_SKV6ONLY from the attributes; null when absent, undefined when malformed. */
function readV6Only(buf: Buffer, start: number, end: number): boolean | null | undefined {
  let v6only: boolean | null = null;
  for (let offset = start; end - offset >= RTA_HDRLEN;) {
    const len = u16(buf, offset);
    if (len < RTA_HDRLEN || len > end - offset) return undefined;
    if ((u16(buf, offset + 2) & NLA_TYPE_MASK) === INET_DIAG_SKV6ONLY) {
      if (len < RTA_HDRLEN + 1) return undefined;
      v6only = buf[offset + RTA_HDRLEN] !== 0;
    }
    offset += align4(len);
  }
  return v6only;
}
