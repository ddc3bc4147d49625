/**
 * One rule's condition: which listeners it is about. Built from the config file once,
 * then tested against listeners many times; every field given must match (AND).
 *
 *   { "port": 5173 }                 { "port": "9000-9100,9229" }   { "protocol": "udp" }
 *   { "address": "127.0.0.53" }      { "address": ["10.0.0.0/8", "fd00::/8"] }
 *   { "process": "^code-server$" }   { "command": "vitest|playwright" }
 */
import { BlockList, isIP } from 'node:net';
import type { Listener, Protocol } from '../listener.js';
import { parsePortSpec, portInRanges, type PortRange } from '../ports.js';
import { ConfigError, describeType, isPlainObject, unknownField } from './config-error.js';
import { compilePattern, type Pattern } from './pattern.js';

export const MATCHER_KEYS = ['port', 'protocol', 'address', 'process', 'command'] as const;

export interface Matcher {
  /** The condition as written, for messages and `describe()`. */
  readonly text: string;
  test(listener: Listener): boolean;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export function compilePorts(value: unknown, where: string): PortRange[] {
  const parts = Array.isArray(value) ? value : [value];
  if (parts.length === 0) throw new ConfigError(where, 'an empty list matches no port; remove it or name ports');
  return parts.flatMap((part, i) => {
    const at = Array.isArray(value) ? `${where}[${i}]` : where;
    if (typeof part === 'number') {
      if (!Number.isInteger(part) || part < 1 || part > 65535)
        throw new ConfigError(at, `invalid port ${part}: use a number from 1 to 65535`);
      return [{ from: part, to: part }];
    }
    if (typeof part === 'string') {
      try {
        return parsePortSpec(part);
      } catch (e) {
        throw new ConfigError(at, message(e));
      }
    }
    throw new ConfigError(at, `expected a port number or a string like "80,443,3000-3010", got ${describeType(part)}`);
  });
}

function compileAddresses(value: unknown, where: string): BlockList {
  const list = new BlockList();
  const parts = Array.isArray(value) ? value : [value];
  if (parts.length === 0) throw new ConfigError(where, 'an empty list matches no address; remove it or name addresses');
  parts.forEach((part, i) => {
    const at = Array.isArray(value) ? `${where}[${i}]` : where;
    if (typeof part !== 'string')
      throw new ConfigError(at, `expected an IP address or a CIDR block as a string, got ${describeType(part)}`);
    const [ip, bits, ...rest] = part.trim().split('/');
    const family = isIP(ip ?? '');
    if (family === 0 || rest.length > 0)
      throw new ConfigError(at, `'${part}' is not an IP address or CIDR block (e.g. "127.0.0.1", "::1", "10.0.0.0/8")`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) {
      list.addAddress(ip as string, type);
      return;
    }
    const prefix = Number(bits);
    if (!/^\d+$/.test(bits) || prefix > (family === 4 ? 32 : 128))
      throw new ConfigError(at, `'${part}': the prefix length must be 0-${family === 4 ? 32 : 128}`);
    list.addSubnet(ip as string, prefix, type);
  });
  return list;
}

export function compileRegex(value: unknown, where: string): Pattern {
  if (typeof value !== 'string') throw new ConfigError(where, `expected a regular expression as a string, got ${describeType(value)}`);
  try {
    return compilePattern(value);
  } catch (e) {
    throw new ConfigError(where, message(e));
  }
}

/**
 * Builds a matcher from `raw`, an object whose keys are MATCHER_KEYS plus `allowed`
 * (e.g. `label`, handled by the caller). Throws ConfigError naming the field.
 */
export function compileMatcher(raw: unknown, where: string, allowed: readonly string[] = []): Matcher {
  if (!isPlainObject(raw)) throw new ConfigError(where, `expected an object like { "port": 9229 }, got ${describeType(raw)}`);
  for (const key of Object.keys(raw)) {
    if (!(MATCHER_KEYS as readonly string[]).includes(key) && !allowed.includes(key))
      throw new ConfigError(`${where}.${key}`, unknownField(key, [...MATCHER_KEYS, ...allowed]));
  }
  const tests: ((l: Listener) => boolean)[] = [];
  const text: string[] = [];
  if (raw.port !== undefined) {
    const ranges = compilePorts(raw.port, `${where}.port`);
    tests.push((l) => portInRanges(l.port, ranges));
    text.push(`port ${JSON.stringify(raw.port)}`);
  }
  if (raw.protocol !== undefined) {
    if (raw.protocol !== 'tcp' && raw.protocol !== 'udp')
      throw new ConfigError(`${where}.protocol`, `expected "tcp" or "udp", got ${describeType(raw.protocol)}`);
    const protocol: Protocol = raw.protocol;
    tests.push((l) => l.protocol === protocol);
    text.push(protocol);
  }
  if (raw.address !== undefined) {
    const list = compileAddresses(raw.address, `${where}.address`);
    tests.push((l) => list.check(l.address, l.family === 4 ? 'ipv4' : 'ipv6'));
    text.push(`address ${JSON.stringify(raw.address)}`);
  }
  if (raw.process !== undefined) {
    const re = compileRegex(raw.process, `${where}.process`);
    tests.push((l) => l.process !== null && re.test(l.process.name));
    text.push(`process /${re.source}/`);
  }
  if (raw.command !== undefined) {
    const re = compileRegex(raw.command, `${where}.command`);
    tests.push((l) => l.process !== null && re.test(l.process.command));
    text.push(`command /${re.source}/`);
  }
  if (tests.length === 0) throw new ConfigError(where, `matches every listener: say what to match with ${MATCHER_KEYS.join(', ')}`);
  return { text: text.join(' '), test: (l) => tests.every((t) => t(l)) };
}
