/**
 * The config file: portwatch.json (or a devcontainer.json). Pure: text in, compiled rules
 * out, or a PortwatchError('EUSAGE') whose message is `<file>: <where>: <reason>` on one
 * line. Nothing else is ever thrown.
 *
 *   {
 *     "ignore": [{ "port": 9229 }, { "process": "^code-server$" }, { "command": "vitest" }],
 *     "silent": [{ "port": "40000-65535" }],
 *     "label":  [{ "port": 5173, "label": "Vite" }, { "process": "^postgres$", "label": "database" }],
 *     "portsAttributes": { "3000": { "label": "App" } },
 *     "otherPortsAttributes": { "onAutoForward": "notify" }
 *   }
 *
 * A devcontainer.json is read leniently: only `forwardPorts`, `portsAttributes`,
 * `otherPortsAttributes` and `customizations.portwatch` (the portwatch.json fields) are
 * used; the rest is its own business.
 */
import { PortwatchError } from '../errors.js';
import { compileAttributesTable, compileLabel, type AttributesTable } from './attributes.js';
import { ConfigError, configUsageError, describeType, isPlainObject, unknownField } from './config-error.js';
import { parseJsonc } from './jsonc.js';
import { compileMatcher, type Matcher } from './matcher.js';

export interface LabelRule {
  matcher: Matcher;
  label: string;
}

export interface RuleSet {
  /** Listeners matching any of these are neither listed nor announced. */
  ignore: Matcher[];
  /** Listed, never announced. */
  silent: Matcher[];
  /** The first matching rule names the listener. */
  labels: LabelRule[];
  /** devcontainer.json's portsAttributes / otherPortsAttributes, when given. */
  attributes: AttributesTable | null;
  /** devcontainer.json's forwardPorts: forwarded by `portwatch forward` even before they listen. */
  forwardPorts: ForwardPortEntry[];
}

/** One forwardPorts entry: `5432`, `"5432"`, `"localhost:5432"`, or `"db:5432"` (another host). */
export interface ForwardPortEntry {
  port: number;
  /** null for the target itself (a number, localhost, 127.0.0.1, ::1); else the host named. */
  host: string | null;
  /** The entry as written, for messages. */
  text: string;
}

export const EMPTY_RULE_SET: RuleSet = { ignore: [], silent: [], labels: [], attributes: null, forwardPorts: [] };

const TOP_LEVEL_KEYS = ['$schema', 'ignore', 'silent', 'label', 'portsAttributes', 'otherPortsAttributes', 'forwardPorts'] as const;

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '::1', '[::1]', '0.0.0.0']);

function compileForwardPorts(raw: unknown, where: string): ForwardPortEntry[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw new ConfigError(where, `expected a list like [3000, "db:5432"], got ${describeType(raw)}`);
  return raw.map((item, i) => {
    const at = `${where}[${i}]`;
    const text = typeof item === 'number' ? String(item) : item;
    if (typeof text !== 'string') throw new ConfigError(at, `expected a port number or "host:port", got ${describeType(item)}`);
    const m = /^(?:(.+):)?(\d{1,5})$/.exec(text.trim());
    const port = m ? Number(m[2]) : NaN;
    if (!m || port < 1 || port > 65535)
      throw new ConfigError(at, `expected a port from 1 to 65535 or "host:port", got ${JSON.stringify(item)}`);
    const host = m[1] === undefined || LOCAL_HOSTS.has(m[1].toLowerCase()) ? null : m[1];
    return { port, host, text: text.trim() };
  });
}

/** Files read the devcontainer way (lenient top level). */
export function isDevcontainerFile(path: string): boolean {
  return /(^|[/\\])\.?devcontainer\.json$/.test(path);
}

function compileMatcherList(raw: unknown, where: string): Matcher[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw new ConfigError(where, `expected a list of rules like [{ "port": 9229 }], got ${describeType(raw)}`);
  return raw.map((item, i) => compileMatcher(item, `${where}[${i}]`));
}

function compileLabelList(raw: unknown, where: string): LabelRule[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw))
    throw new ConfigError(where, `expected a list of rules like [{ "port": 5173, "label": "Vite" }], got ${describeType(raw)}`);
  return raw.map((item, i) => {
    const at = `${where}[${i}]`;
    const matcher = compileMatcher(item, at, ['label']);
    const label = (item as Record<string, unknown>).label;
    if (label === undefined) throw new ConfigError(at, 'a label rule needs a "label"');
    return { matcher, label: compileLabel(label, `${at}.label`) };
  });
}

/** The portwatch.json fields of an object; `prefix` locates it in messages. */
function compileFields(raw: Record<string, unknown>, prefix: string, strict: boolean): RuleSet {
  const at = (k: string): string => (prefix === '' ? k : `${prefix}.${k}`);
  if (strict) {
    for (const key of Object.keys(raw)) {
      if (!(TOP_LEVEL_KEYS as readonly string[]).includes(key))
        throw new ConfigError(
          at(key),
          unknownField(
            key,
            TOP_LEVEL_KEYS.filter((k) => k !== '$schema'),
          ),
        );
    }
  }
  const hasAttributes = raw.portsAttributes !== undefined || raw.otherPortsAttributes !== undefined;
  return {
    ignore: compileMatcherList(raw.ignore, at('ignore')),
    silent: compileMatcherList(raw.silent, at('silent')),
    labels: compileLabelList(raw.label, at('label')),
    attributes: hasAttributes ? compileAttributesTable(raw.portsAttributes, raw.otherPortsAttributes, prefix) : null,
    forwardPorts: compileForwardPorts(raw.forwardPorts, at('forwardPorts')),
  };
}

/** Compiles a parsed config value. Throws ConfigError. */
export function compileConfig(value: unknown, options: { devcontainer?: boolean } = {}): RuleSet {
  if (!isPlainObject(value)) throw new ConfigError('', `expected a JSON object at the top level, got ${describeType(value)}`);
  if (!options.devcontainer) return compileFields(value, '', true);
  const attributes =
    value.portsAttributes !== undefined || value.otherPortsAttributes !== undefined
      ? compileAttributesTable(value.portsAttributes, value.otherPortsAttributes)
      : null;
  const forwardPorts = compileForwardPorts(value.forwardPorts, 'forwardPorts');
  const custom = isPlainObject(value.customizations) ? value.customizations.portwatch : undefined;
  if (custom === undefined) return { ...EMPTY_RULE_SET, attributes, forwardPorts };
  if (!isPlainObject(custom)) throw new ConfigError('customizations.portwatch', `expected an object, got ${describeType(custom)}`);
  const own = compileFields(custom, 'customizations.portwatch', true);
  if (own.attributes !== null && attributes !== null)
    throw new ConfigError('customizations.portwatch', 'portsAttributes are given twice: keep them at the top level only');
  if (own.forwardPorts.length > 0 && forwardPorts.length > 0)
    throw new ConfigError('customizations.portwatch', 'forwardPorts are given twice: keep them at the top level only');
  return { ...own, attributes: own.attributes ?? attributes, forwardPorts: forwardPorts.length > 0 ? forwardPorts : own.forwardPorts };
}

/** Parses and compiles a config file's text. Throws PortwatchError('EUSAGE', '<file>: …'). */
export function parseConfigText(text: string, file: string): RuleSet {
  const parsed = parseJsonc(text);
  if (!parsed.ok) throw configUsageError(file, parsed.error);
  try {
    return compileConfig(parsed.value, { devcontainer: isDevcontainerFile(file) });
  } catch (e) {
    if (e instanceof ConfigError) throw configUsageError(file, e);
    if (e instanceof PortwatchError) throw configUsageError(file, e.message);
    throw e; // a bug, not a bad file: let it show
  }
}
