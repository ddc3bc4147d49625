/**
 * Parser for /proc/net/{tcp,tcp6,udp,udp6}. Pure and total: text in, sockets out;
 * malformed rows are skipped and counted, nothing throws.
 *
 * Row layout (after the `sl` header):
 *   sl local_address rem_address st tx:rx tr:tm retrnsmt uid timeout inode ...
 */
import type { Family, Protocol } from '../listener.js';
import type { RawSocket } from '../types.js';
import { procHexToAddress } from './address.js';
import { safeDecimal } from './decimal.js';

const TCP_LISTEN = '0A';
const UDP_UNCONNECTED = '07';
const ZERO_RE = /^0+$/;
const HEX_PORT_RE = /^[0-9A-Fa-f]{4}$/;

/** What one row is: a listener, some other valid socket, or not a socket row at all. */
export type ProcNetRow = { kind: 'listener'; socket: RawSocket } | { kind: 'other' } | { kind: 'malformed' };

const OTHER: ProcNetRow = { kind: 'other' };
const MALFORMED: ProcNetRow = { kind: 'malformed' };

function splitHostPort(field: string, family: Family, littleEndian: boolean): { address: string; port: number } | null {
  const colon = field.indexOf(':');
  if (colon < 0) return null;
  const portHex = field.slice(colon + 1);
  if (!HEX_PORT_RE.test(portHex)) return null;
  const address = procHexToAddress(field.slice(0, colon), family, littleEndian);
  if (address === null) return null;
  return { address, port: parseInt(portHex, 16) };
}

/** Classifies one data row. The header row and blank lines are malformed rows. */
export function parseProcNetRow(line: string, protocol: Protocol, family: Family, littleEndian = true): ProcNetRow {
  const f = line.trim().split(/\s+/);
  if (f.length < 10 || !f[0]?.endsWith(':')) return MALFORMED;
  const [, local, remote, state, , , , uidText, , inodeText] = f as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const uid = safeDecimal(uidText);
  const inode = safeDecimal(inodeText);
  if (!/^[0-9A-Fa-f]{2}$/.test(state) || uid === null || inode === null) return MALFORMED;
  const loc = splitHostPort(local, family, littleEndian);
  const rem = splitHostPort(remote, family, littleEndian);
  if (loc === null || rem === null) return MALFORMED;

  const st = state.toUpperCase();
  const listening =
    protocol === 'tcp' ? st === TCP_LISTEN : st === UDP_UNCONNECTED && rem.port === 0 && ZERO_RE.test(remote.slice(0, remote.indexOf(':')));
  if (!listening) return OTHER;
  return {
    kind: 'listener',
    socket: {
      protocol,
      family,
      address: loc.address,
      port: loc.port,
      inode,
      uid,
      v6only: null,
      interface: null, // /proc/net rows do not say which device a socket is bound to
    },
  };
}

export interface ProcNetParse {
  sockets: RawSocket[];
  /** Rows that were neither a valid socket row nor the header. */
  skipped: number;
  /**
   * Whether a valid non-listening row was seen. For TCP on kernels that print listeners
   * first (see sources/proc-net.ts) this means the listening rows are over; on older ones
   * pending requests (state 03) sit among them and it means nothing.
   */
  sawOther: boolean;
}

/** Parses a whole (or partial, line-complete) /proc/net file. */
export function parseProcNet(text: string, protocol: Protocol, family: Family, littleEndian = true): ProcNetParse {
  const out: ProcNetParse = { sockets: [], skipped: 0, sawOther: false };
  for (const line of text.split('\n')) {
    if (line.trim() === '' || isHeader(line)) continue;
    const row = parseProcNetRow(line, protocol, family, littleEndian);
    if (row.kind === 'listener') out.sockets.push(row.socket);
    else if (row.kind === 'other') out.sawOther = true;
    else out.skipped++;
  }
  return out;
}

function isHeader(line: string): boolean {
  return line.trimStart().startsWith('sl ');
}
