/**
 * The `portsAttributes` / `otherPortsAttributes` shape of devcontainer.json, so an existing
 * dev container config works as is:
 *
 *   "portsAttributes": {
 *     "3000": { "label": "App", "onAutoForward": "notify" },
 *     "9229": { "onAutoForward": "ignore" },
 *     "40000-55000": { "onAutoForward": "silent" },
 *     "node .*vite": { "label": "Vite" }             ← a regex on the command line
 *   },
 *   "otherPortsAttributes": { "onAutoForward": "silent" }
 *
 * Keys are a port, `host:port` (the host is not compared: portwatch sees this machine's
 * sockets), a range `from-to`, or else a regular expression matched against the owning
 * process's command line. Lookup: exact ports first, then ranges, then regexes, each in
 * file order; the first match wins; ports matching no key get `otherPortsAttributes`.
 * `onAutoForward: "ignore"` hides a listener, `"silent"` lists it without announcing it;
 * the other values (notify, openBrowser, openBrowserOnce, openPreview) announce it.
 * `portwatch forward` also uses `requireLocalPort` (the same port on the host, or fail) and
 * `protocol` (the scheme of the URL it prints or opens). `elevateIfNeeded` is checked for
 * its type and otherwise left alone, as are unknown attributes.
 */
import type { Listener } from '../listener.js';
import { ConfigError, describeType, isPlainObject } from './config-error.js';
import { compilePorts, compileRegex } from './matcher.js';

export const ON_AUTO_FORWARD = ['notify', 'openBrowser', 'openBrowserOnce', 'openPreview', 'silent', 'ignore'] as const;
export type OnAutoForward = (typeof ON_AUTO_FORWARD)[number];

export interface PortAttributes {
  label: string | null;
  onAutoForward: OnAutoForward | null;
  /** Forward on the same port number or not at all; null when not given. */
  requireLocalPort: boolean | null;
  /** The scheme of the forwarded port's URL; null when not given. */
  protocol: 'http' | 'https' | null;
}

interface Entry {
  key: string;
  attributes: PortAttributes;
  test(l: Listener): boolean;
}

export interface AttributesTable {
  /** Attributes for a listener, or null when neither a key nor otherPortsAttributes applies. */
  lookup(listener: Listener): PortAttributes | null;
  /** Number of portsAttributes keys. */
  readonly size: number;
  readonly hasOther: boolean;
}

export function compileLabel(value: unknown, where: string): string {
  if (typeof value !== 'string') throw new ConfigError(where, `expected a string, got ${describeType(value)}`);
  const label = value.trim();
  if (label === '') throw new ConfigError(where, 'a label must not be empty');
  if (label.length > 200) throw new ConfigError(where, 'a label must be at most 200 characters');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(label)) throw new ConfigError(where, 'a label must not contain control characters');
  return label;
}

export function compileAttributes(raw: unknown, where: string): PortAttributes {
  if (!isPlainObject(raw))
    throw new ConfigError(where, `expected an object like { "label": "App", "onAutoForward": "notify" }, got ${describeType(raw)}`);
  const label = raw.label === undefined ? null : compileLabel(raw.label, `${where}.label`);
  let onAutoForward: OnAutoForward | null = null;
  if (raw.onAutoForward !== undefined) {
    if (!(ON_AUTO_FORWARD as readonly unknown[]).includes(raw.onAutoForward))
      throw new ConfigError(
        `${where}.onAutoForward`,
        `expected one of ${ON_AUTO_FORWARD.join(', ')}, got ${describeType(raw.onAutoForward)}`,
      );
    onAutoForward = raw.onAutoForward as OnAutoForward;
  }
  for (const key of ['elevateIfNeeded', 'requireLocalPort'] as const) {
    if (raw[key] !== undefined && typeof raw[key] !== 'boolean')
      throw new ConfigError(`${where}.${key}`, `expected true or false, got ${describeType(raw[key])}`);
  }
  if (raw.protocol !== undefined && raw.protocol !== 'http' && raw.protocol !== 'https')
    throw new ConfigError(`${where}.protocol`, `expected "http" or "https", got ${describeType(raw.protocol)}`);
  return {
    label,
    onAutoForward,
    requireLocalPort: typeof raw.requireLocalPort === 'boolean' ? raw.requireLocalPort : null,
    protocol: raw.protocol === 'http' || raw.protocol === 'https' ? raw.protocol : null,
  };
}

type KeyKind = 'port' | 'range' | 'regex';

function compileKey(key: string, where: string): { kind: KeyKind; test: (l: Listener) => boolean } {
  const hostPort = /^[^:\s]+:(\d+)$/.exec(key);
  const portText = hostPort?.[1] ?? key;
  if (/^\d+$/.test(portText)) {
    const [range] = compilePorts(portText, where);
    const port = range?.from;
    return { kind: 'port', test: (l) => l.port === port };
  }
  if (/^\d+\s*-\s*\d+$/.test(key)) {
    const [range] = compilePorts(key.replace(/\s+/g, ''), where);
    const { from, to } = range as { from: number; to: number };
    return { kind: 'range', test: (l) => l.port >= from && l.port <= to };
  }
  const re = compileRegex(key, where);
  return { kind: 'regex', test: (l) => l.process !== null && re.test(l.process.command) };
}

export function compileAttributesTable(ports: unknown, other: unknown, where = ''): AttributesTable {
  const at = (k: string): string => (where === '' ? k : `${where}.${k}`);
  const entries: Record<KeyKind, Entry[]> = { port: [], range: [], regex: [] };
  if (ports !== undefined) {
    if (!isPlainObject(ports))
      throw new ConfigError(at('portsAttributes'), `expected an object keyed by port, range or regex, got ${describeType(ports)}`);
    for (const [key, value] of Object.entries(ports)) {
      const keyWhere = `${at('portsAttributes')}[${JSON.stringify(key)}]`;
      const { kind, test } = compileKey(key, keyWhere);
      entries[kind].push({ key, attributes: compileAttributes(value, keyWhere), test });
    }
  }
  const otherAttributes = other === undefined ? null : compileAttributes(other, at('otherPortsAttributes'));
  const ordered = [...entries.port, ...entries.range, ...entries.regex];
  return {
    size: ordered.length,
    hasOther: otherAttributes !== null,
    lookup: (l) => ordered.find((e) => e.test(l))?.attributes ?? otherAttributes,
  };
}
