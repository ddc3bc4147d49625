/**
 * Port numbers, lists and ranges as users write them (`80`, `80,443`, `3000-3010`): pure
 * parsers that throw PortwatchError('EUSAGE') saying what is accepted. Used by the CLI, the
 * rules and `run`.
 */
import { PortwatchError } from './errors.js';

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
