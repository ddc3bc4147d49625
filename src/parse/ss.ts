/**
 * Parser for iproute2 `ss -Hne` output (with or without the header, the Netid and the
 * State columns, and the `users:((...))` column of -p). Pure and total.
 *
 * After the peer address ss prints, in this order (iproute2 misc/ss.c):
 *   users:((…))                  with -p: process names, which any user chooses
 *   uid:N ino:N sk:X fwmark:0xN  ss's own numbers (uid only when not 0, fwmark only when set)
 *   cgroup:PATH                  the socket's cgroup v2 path, printed raw: whoever names a
 *                                cgroup can put ` ino:1 uid:0` in it (not a newline: the
 *                                kernel refuses those in cgroup names)
 *   v6only:0|1                   IPv6 sockets only
 *   <->                          shutdown state, always last
 * So keys are read only before `cgroup:`, and v6only only as ss's own suffix at the end.
 *
 * ss prints an IPv6 wildcard that accepts IPv4 as `*`, but so did it 0.0.0.0 before
 * iproute2 4.17, and an IPv6 socket whose kernel sends no v6only attribute looks the same:
 * `*` is read only when the caller says which family it asked for (`ss -4` / `ss -6`).
 * A device-bound address is `addr%dev` (`[fe80::1]%eth0`, `*%lo`).
 */
import type { Family, Protocol } from '../listener.js';
import type { RawSocket } from '../types.js';
import { formatIPv4, formatIPv6 } from './address.js';
import { safeDecimal } from './decimal.js';
import { isIP } from 'node:net';

/** Interface names hold neither whitespace nor `:` (the kernel's dev_valid_name). */
const ADDR_PORT_RE = /^(?:\[([^\]]+)\]|([^\s[\]%]+?))(?:%([^\s:]+))?:(\d{1,5})$/;
const STAR_RE = /^\*(?:%([^\s:]+))?:(\d{1,5})$/;
const PEER_RE = /^(?:\[[^\]]*\]|[^\s[\]]+):(?:\d{1,5}|\*)$/;
const STATE_RE = /^[A-Z][A-Z0-9-]*$/;
const LISTEN_STATES = new Set(['LISTEN', 'UNCONN']);
/** ss's own tail: v6only, then the shutdown marker. Anything a cgroup path says comes before it. */
const V6ONLY_SUFFIX_RE = /\sv6only:([01])(?:\s+[<-]-[>-])?\s*$/;
/** Keys ss prints before the cgroup path; each may appear once. */
const OWN_KEYS = new Set(['uid', 'ino', 'sk', 'fwmark']);

export interface SsParse {
  sockets: RawSocket[];
  skipped: number;
}

/** Canonicalises an address as ss prints it; null when it is not an IP address. */
function canonical(text: string): { address: string; family: Family } | null {
  const kind = isIP(text);
  if (kind === 4) return { address: formatIPv4(text.split('.').map(Number)), family: 4 };
  if (kind === 6) return { address: formatIPv6(ipv6Bytes(text)), family: 6 };
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

/** The next whitespace-separated token at or after `from`, and where it ends. */
function nextToken(line: string, from: number): { text: string; end: number } | null {
  const m = /\S+/g;
  m.lastIndex = from;
  const hit = m.exec(line);
  return hit ? { text: hit[0], end: m.lastIndex } : null;
}

/**
 * The details after the peer column, or null when they are not what ss prints. The users
 * column ends at the first `))`: ss reads names up to the first `)` of /proc/PID/stat, so a
 * name holds none.
 */
function ownFields(details: string): Map<string, string> | null {
  let rest = details.trimStart();
  if (rest.startsWith('users:((')) {
    const end = rest.indexOf('))');
    if (end < 0) return null;
    rest = rest.slice(end + 2);
  }
  const cgroup = /(?:^|\s)cgroup:/.exec(rest);
  const own = cgroup ? rest.slice(0, cgroup.index) : rest;
  const fields = new Map<string, string>();
  for (const token of own.split(/\s+/)) {
    const colon = token.indexOf(':');
    if (colon <= 0) continue;
    const key = token.slice(0, colon);
    if (!OWN_KEYS.has(key)) continue;
    if (fields.has(key)) return null; // ss prints each once: a second one is not ss's
    fields.set(key, token.slice(colon + 1));
  }
  return fields;
}

/**
 * One line of ss output as a listening socket, or null. `family` is the family the ss call
 * asked for (`-4` / `-6`); without it a `*` address cannot be placed and the line is null.
 */
export function parseSsLine(line: string, defaultProtocol: Protocol, family?: Family): RawSocket | null {
  let protocol = defaultProtocol;
  let token = nextToken(line, 0);
  if (token?.text === 'tcp' || token?.text === 'udp') {
    protocol = token.text;
    token = nextToken(line, token.end);
  }
  if (token !== null && STATE_RE.test(token.text)) {
    if (!LISTEN_STATES.has(token.text)) return null; // some other state: not a listener
    token = nextToken(line, token.end);
  }
  // Recv-Q and Send-Q, then local and peer.
  const sendQ = token && /^\d+$/.test(token.text) ? nextToken(line, token.end) : null;
  const local = sendQ && /^\d+$/.test(sendQ.text) ? nextToken(line, sendQ.end) : null;
  const peer = local ? nextToken(line, local.end) : null;
  if (local === null || peer === null || !PEER_RE.test(peer.text)) return null;

  const fields = ownFields(line.slice(peer.end));
  if (fields === null) return null;
  // Without -e there is no inode (0: unknown); ss prints uid only when it is not 0.
  const inode = fields.has('ino') ? safeDecimal(fields.get('ino')) : 0;
  const uid = fields.has('uid') ? safeDecimal(fields.get('uid')) : 0;
  if (inode === null || uid === null) return null;

  const address = localAddress(local.text, family);
  if (address === null || address.port > 65535) return null;
  const v6onlyText = address.family === 6 ? V6ONLY_SUFFIX_RE.exec(line)?.[1] : undefined;
  return {
    protocol,
    family: address.family,
    address: address.address,
    port: address.port,
    inode,
    uid,
    v6only: v6onlyText === '1' ? true : v6onlyText === '0' ? false : null,
    interface: address.interface,
  };
}

function localAddress(
  text: string,
  asked: Family | undefined,
): { address: string; family: Family; port: number; interface: string | null } | null {
  const star = STAR_RE.exec(text);
  if (star) {
    if (asked === undefined) return null;
    return { address: asked === 4 ? '0.0.0.0' : '::', family: asked, port: Number(star[2]), interface: star[1] ?? null };
  }
  const m = ADDR_PORT_RE.exec(text);
  if (!m) return null;
  const parsed = canonical(m[1] ?? m[2] ?? '');
  if (parsed === null || (m[1] !== undefined && parsed.family !== 6)) return null;
  if (asked !== undefined && parsed.family !== asked) return null;
  return { ...parsed, port: Number(m[4]), interface: m[3] ?? null };
}

/**
 * Parses the whole output of `ss -Hne …` (header lines are tolerated and skipped).
 * Pass `family` when the call asked for one family only: see {@link parseSsLine}.
 */
export function parseSs(text: string, defaultProtocol: Protocol, family?: Family): SsParse {
  const out: SsParse = { sockets: [], skipped: 0 };
  for (const line of text.split('\n')) {
    if (line.trim() === '' || /^\s*(Netid|State|Recv-Q)\b/.test(line)) continue;
    const s = parseSsLine(line, defaultProtocol, family);
    if (s) out.sockets.push(s);
    else out.skipped++;
  }
  return out;
}
