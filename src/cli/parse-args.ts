/**
 * Pure parsers for command-line values. Each throws PortwatchError('EUSAGE') with a
 * message that says what is wrong and what is accepted.
 */
import { PortwatchError } from '../errors.js';

const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** `250ms`, `2s`, `1.5m`, `1h`; a bare number is milliseconds. */
export function parseDuration(text: string, what = 'duration'): number {
  const m = DURATION_RE.exec(text.trim());
  if (!m?.[1]) throw new PortwatchError('EUSAGE', `invalid ${what} '${text}': use e.g. 250ms, 2s, 1m`);
  const ms = Number(m[1]) * (UNIT_MS[m[2] ?? 'ms'] ?? 1);
  if (!Number.isFinite(ms) || ms > 2_147_483_647) throw new PortwatchError('EUSAGE', `${what} '${text}' is too long`);
  return Math.round(ms);
}

export function parsePort(text: string): number {
  const t = text.trim();
  const n = Number(t);
  if (!/^\d+$/.test(t) || n < 1 || n > 65535) throw new PortwatchError('EUSAGE', `invalid port '${text}': use a number from 1 to 65535`);
  return n;
}

export interface PortRange {
  from: number;
  to: number;
}

/** `80`, `80,443`, `3000-3010`, `80,8000-8100`. */
export function parsePortSpec(text: string): PortRange[] {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.some((p) => p === '')) throw new PortwatchError('EUSAGE', `invalid port list '${text}': use e.g. 80,443,3000-3010`);
  return parts.map((part) => {
    const dash = part.indexOf('-');
    if (dash < 0) {
      const p = parsePort(part);
      return { from: p, to: p };
    }
    const from = parsePort(part.slice(0, dash));
    const to = parsePort(part.slice(dash + 1));
    if (from > to) throw new PortwatchError('EUSAGE', `invalid port range '${part}': the first port must not be above the second`);
    return { from, to };
  });
}

export function portInRanges(port: number, ranges: readonly PortRange[]): boolean {
  return ranges.some((r) => port >= r.from && port <= r.to);
}

/** A list of single ports (no ranges), as `wait` takes them. */
export function parsePortList(text: string): number[] {
  return [...new Set(text.split(',').map(parsePort))];
}

export function parsePid(text: string): number {
  const t = text.trim();
  const n = Number(t);
  if (!/^\d+$/.test(t) || n < 1 || !Number.isSafeInteger(n))
    throw new PortwatchError('EUSAGE', `invalid pid '${text}': use a positive number`);
  return n;
}

export function parseRegex(text: string): RegExp {
  try {
    return new RegExp(text);
  } catch (e) {
    throw new PortwatchError('EUSAGE', `invalid regular expression '${text}': ${(e as Error).message}`);
  }
}
