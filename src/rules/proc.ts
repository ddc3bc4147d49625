/**
 * What the rules and `run` read about processes: parent, start time and environment, through
 * the /proc seam (proc/proc-fs.ts), so ancestry logic is tested on a literal table.
 */
import { realProc, type ProcFs } from '../proc/proc-fs.js';

/** The part of the /proc seam the ignore marker and `run`'s process tree use. */
export type ProcReader = Pick<ProcFs, 'stat' | 'environ'>;

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

/** The real /proc. */
export function procReader(): ProcReader {
  return realProc;
}
