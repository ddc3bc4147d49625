/**
 * What `portwatch wait` waits for, written as wait-on writes it: `8080`, `8080,3000`,
 * `tcp:8080`, `tcp:localhost:8080`, `tcp:[::1]:8080`, `udp:53`, `http://localhost:3000/health`,
 * `https://…` (and wait-on's `http-get://` / `https-get://`, the same here: a GET).
 * Pure: text in, targets out, PortwatchError('EUSAGE') with one line on bad input; and the
 * rule that says whether a listener serves a target.
 *
 * A host restricts the listeners that count to those a connection to that host reaches: the
 * address itself or a wildcard of its family (`::` also for IPv4 unless IPV6_V6ONLY);
 * `localhost` (and `*.localhost`) is any loopback address, v4 or v6, or a wildcard. The
 * socket table knows addresses, not names: other host names are refused.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { PortwatchError } from './errors.js';
import type { Listener, Protocol } from './listener.js';
import { formatIPv6 } from './parse/address.js';
import { parsePort, parsePortSpec, type PortRange } from './ports.js';

export type TargetHost =
  | { kind: 'loopback'; text: string }
  /** A literal address in canonical form; `0.0.0.0` and `::` (this host) are read as 127.0.0.1 and ::1. */
  | { kind: 'ip'; family: 4 | 6; address: string; text: string };

export interface PortTarget {
  kind: 'port';
  /** As the user wrote it. */
  text: string;
  protocol: Protocol | 'any';
  host: TargetHost | null;
  port: number;
}

export interface UrlTarget {
  kind: 'url';
  /** The URL with any password masked, for messages. */
  text: string;
  url: URL;
  secure: boolean;
  host: TargetHost;
  port: number;
}

export type WaitTarget = PortTarget | UrlTarget;

const FORMS = 'use PORT, tcp:[HOST:]PORT, udp:[HOST:]PORT, http://… or https://…';
const URL_RE = /^(https?)(?:-get)?:\/\//i;
const SCHEME_RE = /^([a-z][a-z0-9+.-]*):/i;

function usage(message: string): PortwatchError {
  return new PortwatchError('EUSAGE', message);
}

/** IPv6 text (validated by isIPv6, no zone) → canonical RFC 5952 text. */
function canonicalIPv6(text: string): string {
  const toGroups = (part: string): number[] =>
    part === ''
      ? []
      : part.split(':').flatMap((g) => {
          if (!g.includes('.')) return [parseInt(g, 16)];
          const [a = 0, b = 0, c = 0, d = 0] = g.split('.').map(Number);
          return [(a << 8) | b, (c << 8) | d];
        });
  const gap = text.indexOf('::');
  const head = toGroups(gap < 0 ? text : text.slice(0, gap));
  const tail = gap < 0 ? [] : toGroups(text.slice(gap + 2));
  const groups = [...head, ...new Array<number>(Math.max(0, 8 - head.length - tail.length)).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  groups.slice(0, 8).forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return formatIPv6(bytes);
}

/** `localhost`, `127.0.0.1`, `::1` (no brackets) → a host; anything else is refused. */
export function parseHost(text: string, target: string): TargetHost {
  const lower = text.toLowerCase();
  if (lower === 'localhost' || lower.endsWith('.localhost')) return { kind: 'loopback', text };
  if (isIPv4(text)) return { kind: 'ip', family: 4, address: text === '0.0.0.0' ? '127.0.0.1' : text, text };
  if (isIPv6(text) && !text.includes('%')) {
    const address = canonicalIPv6(text);
    return { kind: 'ip', family: 6, address: address === '::' ? '::1' : address, text };
  }
  if (text.includes('%')) throw usage(`invalid target '${target}': zone ids (%eth0) are not supported`);
  throw usage(
    `invalid target '${target}': '${text}' is a host name, and the socket table knows only addresses; use localhost or an IP address`,
  );
}

function parseUrl(text: string): UrlTarget {
  let url: URL;
  try {
    url = new URL(text.replace(URL_RE, (_m, scheme: string) => `${scheme.toLowerCase()}://`));
  } catch {
    throw usage(`invalid URL '${text}': write e.g. http://localhost:3000/health`);
  }
  const secure = url.protocol === 'https:';
  const hostText = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (hostText === '') throw usage(`invalid URL '${text}': no host`);
  const host = parseHost(hostText, text);
  const port = url.port === '' ? (secure ? 443 : 80) : Number(url.port);
  const shown = new URL(url.href);
  if (shown.password !== '') shown.password = '***';
  return { kind: 'url', text: shown.href, url, secure, host, port };
}

function parseEndpoint(text: string, protocol: Protocol, rest: string): PortTarget {
  const body = rest.startsWith('//') ? rest.slice(2) : rest;
  let hostText: string | null = null;
  let portText = body;
  if (body.startsWith('[')) {
    const close = body.indexOf(']');
    if (close < 0 || body[close + 1] !== ':') throw usage(`invalid target '${text}': write ${protocol}:[::1]:PORT`);
    hostText = body.slice(1, close);
    portText = body.slice(close + 2);
  } else if (body.includes(':')) {
    const colon = body.lastIndexOf(':');
    hostText = body.slice(0, colon);
    portText = body.slice(colon + 1);
    if (hostText.includes(':')) throw usage(`invalid target '${text}': write IPv6 addresses in brackets, e.g. ${protocol}:[::1]:PORT`);
  }
  if (!/^\d+$/.test(portText.trim())) throw usage(`invalid target '${text}': '${portText}' is not a port (1-65535); ${FORMS}`);
  const port = parsePort(portText);
  const host = hostText === null ? null : parseHost(hostText, text);
  return { kind: 'port', text, protocol, host, port };
}

/** One target without commas. Plain ports take `defaultProtocol`. */
export function parseWaitTarget(raw: string, defaultProtocol: Protocol | 'any' = 'tcp'): WaitTarget {
  const text = raw.trim();
  if (URL_RE.test(text)) return parseUrl(text);
  const scheme = SCHEME_RE.exec(text)?.[1]?.toLowerCase();
  if (scheme === 'tcp' || scheme === 'udp') return parseEndpoint(text, scheme, text.slice(scheme.length + 1));
  if (scheme === 'http' || scheme === 'https') throw usage(`invalid URL '${text}': write ${scheme}://HOST[:PORT]/PATH`);
  if (scheme !== undefined) throw usage(`invalid target '${text}': unknown kind '${scheme}:'; ${FORMS}`);
  // `:8080`, as list and watch take a port: the port on any address.
  return { kind: 'port', text, protocol: defaultProtocol, host: null, port: parsePort(/^:\d+$/.test(text) ? text.slice(1) : text) };
}

function key(t: WaitTarget): string {
  if (t.kind === 'url') return `url ${t.url.href}`;
  const h = t.host === null ? '*' : t.host.kind === 'loopback' ? 'localhost' : t.host.address;
  return `${t.protocol} ${h} ${t.port}`;
}

const PORT_RANGE = /^:?\d+-\d+$/;
/** Ports one range may name: a range is each of its ports, every one waited for. */
export const MAX_RANGE_PORTS = 1024;

/** `3000-3003` (or `:3000-3003`, as list takes it): one target per port, each on any address. */
function rangeTargets(text: string, protocol: Protocol | 'any'): PortTarget[] {
  const [range] = parsePortSpec(text.replace(/^:/, '')) as [PortRange];
  const count = range.to - range.from + 1;
  if (count > MAX_RANGE_PORTS) throw usage(`invalid target '${text}': a range may name up to ${MAX_RANGE_PORTS} ports, this one ${count}`);
  return Array.from({ length: count }, (_, i) => ({
    kind: 'port',
    text: String(range.from + i),
    protocol,
    host: null,
    port: range.from + i,
  }));
}

/**
 * The command line's arguments: each is a URL taken whole, or a comma list of the other
 * forms (`8080,3000`, `tcp:8080,udp:53`, `9000-9003`: every port of the range). Duplicates are dropped. Throws EUSAGE.
 */
export function parseWaitTargets(args: readonly string[], defaultProtocol: Protocol | 'any' = 'tcp'): WaitTarget[] {
  const targets = new Map<string, WaitTarget>();
  for (const arg of args) {
    const items = URL_RE.test(arg.trim()) ? [arg] : arg.split(',');
    for (const item of items) {
      for (const t of PORT_RANGE.test(item.trim())
        ? rangeTargets(item.trim(), defaultProtocol)
        : [parseWaitTarget(item, defaultProtocol)]) {
        if (!targets.has(key(t))) targets.set(key(t), t);
      }
    }
  }
  if (targets.size === 0) throw usage(`no target to wait for; ${FORMS}`);
  return [...targets.values()];
}

function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1' || address.startsWith('::ffff:127.');
}

/** Whether a connection to `host` reaches listener `l` (its address, or a wildcard that covers it). */
export function reaches(host: TargetHost, l: Pick<Listener, 'address' | 'dualStack' | 'interface'>): boolean {
  const a = l.address;
  if (host.kind === 'loopback') {
    return (l.interface === null || l.interface === 'lo') && (isLoopback(a) || a === '0.0.0.0' || a === '::');
  }
  if (a === host.address) return true;
  if (host.family === 6) return a === '::';
  return a === '0.0.0.0' || a === `::ffff:${host.address}` || (a === '::' && l.dualStack !== false);
}

/** Whether listener `l` serves target `t` (right protocol, port and, with a host, address). */
export function listenerServes(t: WaitTarget, l: Listener): boolean {
  if (l.port !== t.port) return false;
  const protocol = t.kind === 'url' ? 'tcp' : t.protocol;
  if (protocol !== 'any' && l.protocol !== protocol) return false;
  return t.host === null || reaches(t.host, l);
}

/** Where to connect for a URL whose port `l` serves: a literal host as written, else the listener's address (a wildcard's loopback). */
export function connectAddress(host: TargetHost, l: Pick<Listener, 'address'>): string {
  if (host.kind === 'ip') return host.address;
  if (l.address === '0.0.0.0') return '127.0.0.1';
  if (l.address === '::') return '::1';
  return l.address.startsWith('::ffff:') ? l.address.slice('::ffff:'.length) : l.address;
}

/**
 * Targets in a message: host-less ports grouped by protocol as before (`tcp ports 80, 443`),
 * the rest as written. `notes` adds a word after a target (a URL's last answer).
 */
export function describeTargets(targets: readonly WaitTarget[], notes: (t: WaitTarget) => string | null = () => null): string {
  const groups = new Map<string, number[]>();
  const others: string[] = [];
  for (const t of targets) {
    if (t.kind === 'port' && t.host === null) {
      const label = t.protocol === 'any' ? '' : `${t.protocol} `;
      groups.set(label, [...(groups.get(label) ?? []), t.port]);
    } else {
      const note = notes(t);
      others.push(note === null ? t.text : `${t.text} (${note})`);
    }
  }
  const ports = [...groups].map(([label, ps]) => `${label}port${ps.length > 1 ? 's' : ''} ${ps.join(', ')}`);
  return [...ports, ...others].join(', ');
}

/**
 * Which kernel events can concern `targets`: TCP ports whose listen() or close() matters (URLs
 * are TCP), and whether UDP binds do (for `udp:` and `--any`). For narrowing the tracefs trigger.
 */
export function eventInterestOf(targets: readonly WaitTarget[]): { tcpPorts: number[]; udp: boolean } {
  const tcpPorts = new Set<number>();
  let udp = false;
  for (const t of targets) {
    const protocol = t.kind === 'url' ? 'tcp' : t.protocol;
    if (protocol !== 'udp') tcpPorts.add(t.port);
    if (protocol !== 'tcp') udp = true;
  }
  return { tcpPorts: [...tcpPorts], udp };
}
