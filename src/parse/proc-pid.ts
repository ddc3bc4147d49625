/** Pure parsers for /proc/<pid>/{stat,status}. Total: null on anything unexpected. */
import { safeDecimal } from './decimal.js';

/**
 * ppid from /proc/<pid>/stat. The name field is in parentheses and may itself contain
 * spaces and parentheses, so fields are counted from the last `)`.
 */
export function parseStatPpid(stat: string): number | null {
  const close = stat.lastIndexOf(')');
  if (close < 0) return null;
  const fields = stat
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  // fields[0] is the state, fields[1] the ppid
  return safeDecimal(fields[1]);
}

/** Effective uid from the `Uid:` line of /proc/<pid>/status (real, effective, saved, fs). */
export function parseStatusUid(status: string): number | null {
  const m = /^Uid:\s+\d+\s+(\d+)/m.exec(status);
  return safeDecimal(m?.[1]);
}
