/**
 * Pure parsers for command-line values. Each throws PortwatchError('EUSAGE') with a
 * message that says what is wrong and what is accepted.
 */
import { PortwatchError } from '../errors.js';
import { compilePattern, type Pattern } from '../rules/pattern.js';

const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/**
 * `250ms`, `2s`, `1.5m`, `1h`. A number without a unit is refused (0 aside): wait-on reads
 * `5` as milliseconds and GNU timeout as seconds, so either guess surprises someone.
 */
export function parseDuration(text: string, what = 'duration'): number {
  const m = DURATION_RE.exec(text.trim());
  if (!m?.[1]) throw new PortwatchError('EUSAGE', `invalid ${what} '${text}': use e.g. 250ms, 2s, 1m`);
  if (m[2] === undefined && Number(m[1]) !== 0) {
    throw new PortwatchError(
      'EUSAGE',
      `invalid ${what} '${text}': a number without a unit is ambiguous; write ${m[1]}s for seconds or ${m[1]}ms for milliseconds`,
    );
  }
  const ms = Number(m[1]) * (UNIT_MS[m[2] ?? 'ms'] ?? 1);
  if (!Number.isFinite(ms) || ms > 2_147_483_647) throw new PortwatchError('EUSAGE', `${what} '${text}' is too long`);
  return Math.round(ms);
}

// Port numbers and lists are used below the CLI too (rules, run): they live in ../ports.ts.
export { parsePort, parsePortList, parsePortSpec, portInRanges, type PortRange } from '../ports.js';

export function parsePid(text: string): number {
  const t = text.trim();
  const n = Number(t);
  if (!/^\d+$/.test(t) || n < 1 || !Number.isSafeInteger(n))
    throw new PortwatchError('EUSAGE', `invalid pid '${text}': use a positive number`);
  return n;
}

/** A user's pattern, matched in linear time (RE2 syntax); see rules/pattern.ts. */
export function parseRegex(text: string): Pattern {
  return compilePattern(text);
}
