/**
 * What the rules and `run` read about processes: parent, start time and environment, from
 * /proc with bounded reads. Gone or unreadable processes give null, silently. The parsers
 * are pure; the reader is an interface so ancestry logic can be tested on a literal table.
 */
import { readBounded } from '../owners/read-bounded.js';
import { parseStatPpid } from '../parse/proc-pid.js';

/** /proc/<pid>/environ is read up to this many bytes: variables beyond are not seen. */
export const ENVIRON_MAX_BYTES = 256 * 1024;

export interface ProcStat {
  ppid: number;
  /** Start time in clock ticks since boot: with the pid, it names one process for good. */
  startTime: string;
}

export interface ProcReader {
  stat(pid: number): ProcStat | null;
  environ(pid: number): Buffer | null;
}

/** ppid and start time from /proc/<pid>/stat; fields are counted after the last `)`. */
export function parseStat(text: string): ProcStat | null {
  const ppid = parseStatPpid(text);
  if (ppid === null) return null;
  const fields = text
    .slice(text.lastIndexOf(')') + 1)
    .trim()
    .split(/\s+/);
  const startTime = fields[19]; // field 22 of stat(5); fields[0] is field 3 (state)
  return startTime !== undefined && /^\d+$/.test(startTime) ? { ppid, startTime } : null;
}

/**
 * The value of variable `name` in an environ block (NUL-separated `NAME=value` entries), or
 * null when absent. The first occurrence wins, as getenv() does.
 */
export function environValue(environ: Buffer, name: string): string | null {
  const needle = Buffer.from(`${name}=`);
  let at = 0;
  while (at < environ.length) {
    let end = environ.indexOf(0, at);
    if (end < 0) end = environ.length;
    if (end - at >= needle.length && environ.compare(needle, 0, needle.length, at, at + needle.length) === 0) {
      return environ.toString('utf8', at + needle.length, end);
    }
    at = end + 1;
  }
  return null;
}

/** Reads the real /proc (or another root, for tests). */
export function procReader(procRoot = '/proc'): ProcReader {
  return {
    stat(pid) {
      const b = readBounded(`${procRoot}/${pid}/stat`, 1024);
      return b === null ? null : parseStat(b.toString('utf8'));
    },
    environ(pid) {
      return readBounded(`${procRoot}/${pid}/environ`, ENVIRON_MAX_BYTES);
    },
  };
}
