/**
 * What is wrong with a config file, and where: `ignore[2].port: invalid port '70000': …`.
 * Turned into PortwatchError('EUSAGE', '<file>: <where>: <reason>') at the file boundary.
 */
import { PortwatchError } from '../errors.js';

export class ConfigError extends Error {
  constructor(
    readonly where: string,
    readonly reason: string,
  ) {
    super(where === '' ? reason : `${where}: ${reason}`);
    this.name = 'ConfigError';
  }
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function describeType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return v.length > 40 ? `a string "${v.slice(0, 40)}…"` : `"${v}"`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

/** One line, whatever went into the message. */
export function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ');
}

export function configUsageError(file: string, e: ConfigError | string): PortwatchError {
  return new PortwatchError('EUSAGE', oneLine(`${file}: ${typeof e === 'string' ? e : e.message}`));
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] as number;
      row[j] = Math.min(above + 1, (row[j - 1] as number) + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length] as number;
}

/** `unknown field (did you mean "ignore"?)`, or the list of known fields. */
export function unknownField(key: string, known: readonly string[]): string {
  const close = known.find((k) => editDistance(key.toLowerCase(), k.toLowerCase()) <= 2);
  return close !== undefined ? `unknown field (did you mean "${close}"?)` : `unknown field (use ${known.join(', ')})`;
}
