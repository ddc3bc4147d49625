/**
 * Parser for iproute2 `ss -Hne` output (with or without the header, the Netid and the
 * State columns, and the `users:((...))` column of -p). Pure and total.
 *
 * ss prints an IPv6 wildcard that also accepts IPv4 as `*:port` (with `v6only:0`), an
 * IPv6-only wildcard as `[::]:port`, a device-bound address as `addr%dev:port`.
 */
import type { Protocol } from '../listener.js';
import type { RawSocket } from '../sources/source.js';
import { formatIPv4, formatIPv6 } from './address.js';
import { isIP } from 'node:net';

const ADDR_PORT_RE = /^(?:\[([^\]]+)\]|([^\s[\]%]+?))(?:%[^\s:]+)?:(\d{1,5})$/;
const PEER_RE = /^(?:\[[^\]]*\]|[^\s[\]]+):(?:\d{1,5}|\*)$/;
const LISTEN_STATES = new Set(['LISTEN', 'UNCONN']);

export interface SsParse {
  sockets: RawSocket[];
  skipped: number;
}

/** Canonicalises an address as ss prints it; null when it is not an IP address. */
function canonical(text: string): { address: string; family: 4 | 6 } | null {
  const zoneless = text.replace(/%.*$/, '');
  const kind = isIP(zoneless);
  if (kind === 4) return { address: formatIPv4(zoneless.split('.').map(Number)), family: 4 };
  if (kind === 6) return { address: formatIPv6(ipv6Bytes(zoneless)), family: 6 };
  return null;
}

/** Bytes of a valid IPv6 text address (validated by isIP first). */
function ipv6Bytes(text: string): number[] {
  let t = text;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(t);
  let tail: number[] = [];
  if (dotted?.[1]) {
    tail = dotted[1].split('.').map(Number);
    t = t.slice(0, -dotted[1].length) + '0:0';
  }
  const [head = '', rest] = t.split('::') as [string, string | undefined];
  const h = head === '' ? [] : head.split(':');
  const r = rest === undefined || rest === '' ? [] : rest.split(':');
  const fill = rest === undefined ? [] : new Array<string>(8 - h.length - r.length).fill('0');
  const groups = [...h, ...fill, ...r].map((g) => parseInt(g, 16));
  const bytes: number[] = [];
  for (const g of groups) bytes.push((g >> 8) & 0xff, g & 0xff);
  if (tail.length === 4) bytes.splice(12, 4, ...tail);
  return bytes;
}

/** Removes the `users:((...))` column, whose process names may contain anything. */
function stripUsers(line: string): string {
  const start = line.indexOf('users:((');
  if (start < 0) return line;
  const end = line.lastIndexOf('))');
  return end > start ? line.slice(0, start) + line.slice(end + 2) : line.slice(0, start);
}

export function parseSsLine(rawLine: string, defaultProtocol: Protocol): RawSocket | null {
  const tokens = stripUsers(rawLine).trim().split(/\s+/);
  let protocol = defaultProtocol;
  let i = 0;
  if (tokens[0] === 'tcp' || tokens[0] === 'udp') {
    protocol = tokens[0];
    i++;
  }
  if (tokens[i] !== undefined && /^[A-Z][A-Z0-9-]*$/.test(tokens[i] as string)) {
    if (!LISTEN_STATES.has(tokens[i] as string)) return null; // some other state: not a listener
    i++;
  }
  // Recv-Q and Send-Q, then local and peer.
  if (!/^\d+$/.test(tokens[i] ?? '') || !/^\d+$/.test(tokens[i + 1] ?? '')) return null;
  const local = tokens[i + 2] ?? '';
  const peer = tokens[i + 3] ?? '';
  if (!PEER_RE.test(peer)) return null;
  const extras = new Map<string, string>();
  for (const t of tokens.slice(i + 4)) {
    const c = t.indexOf(':');
    if (c > 0) extras.set(t.slice(0, c), t.slice(c + 1));
  }
  const inode = Number(extras.get('ino') ?? 0); // without -e there is no inode: 0 means unknown
  const uid = Number(extras.get('uid') ?? 0); // ss prints uid only when it is not 0
  const v6onlyText = extras.get('v6only');
  if (!Number.isSafeInteger(inode) || inode < 0 || !Number.isSafeInteger(uid) || uid < 0) return null;
  const v6only = v6onlyText === '1' ? true : v6onlyText === '0' ? false : null;

  let address: string;
  let family: 4 | 6;
  let port: number;
  let dualStack: boolean | null | undefined;
  const star = /^\*(?:%[^\s:]+)?:(\d{1,5})$/.exec(local);
  if (star) {
    port = Number(star[1]);
    // `*` is ss's way of saying "IPv6 wildcard, accepts IPv4 too"; old ss printed it for 0.0.0.0.
    if (v6onlyText !== undefined) {
      address = '::';
      family = 6;
      dualStack = v6only === false;
    } else {
      address = '0.0.0.0';
      family = 4;
    }
  } else {
    const m = ADDR_PORT_RE.exec(local);
    if (!m) return null;
    const parsed = canonical(m[1] ?? m[2] ?? '');
    if (parsed === null || (m[1] !== undefined && parsed.family !== 6)) return null;
    ({ address, family } = parsed);
    port = Number(m[3]);
  }
  if (port > 65535) return null;
  const socket: RawSocket = { protocol, family, address, port, inode, uid, v6only: family === 6 ? v6only : null };
  if (dualStack !== undefined) socket.dualStack = dualStack;
  return socket;
}

/** Parses the whole output of `ss -Hne …` (header lines are tolerated and skipped). */
export function parseSs(text: string, defaultProtocol: Protocol): SsParse {
  const out: SsParse = { sockets: [], skipped: 0 };
  for (const line of text.split('\n')) {
    if (line.trim() === '' || /^\s*(Netid|State|Recv-Q)\b/.test(line)) continue;
    const s = parseSsLine(line, defaultProtocol);
    if (s) out.sockets.push(s);
    else out.skipped++;
  }
  return out;
}
