/**
 * PORTWATCH_IGNORE: a process started with `PORTWATCH_IGNORE=1` in its environment, and
 * every descendant of it, is ignored. Descendants usually inherit the variable; when one
 * does not (a scrubbed environment, `env -i`, sudo), its ancestry still says it: the
 * check walks the ppid chain and looks at each ancestor's /proc/<pid>/environ (bounded
 * read; unreadable ones, e.g. another user's, count as unmarked).
 *
 * /proc/<pid>/environ is the environment the process was started with: setting the
 * variable later, from inside the process, is not seen.
 */
import { environValue, type ProcReader } from './proc.js';

export const IGNORE_ENV = 'PORTWATCH_IGNORE';

/** `PORTWATCH_IGNORE=1` (or any value but empty, 0, false, no, off) marks a process. */
export function isMarkerValue(value: string | null): boolean {
  if (value === null) return false;
  return !['', '0', 'false', 'no', 'off'].includes(value.trim().toLowerCase());
}

export function environHasIgnoreMarker(environ: Buffer): boolean {
  return isMarkerValue(environValue(environ, IGNORE_ENV));
}

/** The longest ppid chain followed; deeper trees are cut (and count as unmarked beyond). */
export const MAX_ANCESTRY = 128;
const MEMO_LIMIT = 8192;

export class IgnoreMarker {
  /** pid → its own marker, valid while the start time matches (pids are reused). */
  private readonly memo = new Map<number, { startTime: string; marked: boolean }>();

  constructor(private readonly reader: ProcReader) {}

  /** Is `pid`, or any of its ancestors, marked? */
  isIgnored(pid: number): boolean {
    let current = pid;
    const seen = new Set<number>();
    for (let depth = 0; depth < MAX_ANCESTRY && current > 0 && !seen.has(current); depth++) {
      seen.add(current);
      const stat = this.reader.stat(current);
      if (stat === null) return false; // gone: the chain above it cannot be known
      if (this.selfMarked(current, stat.startTime)) return true;
      current = stat.ppid;
    }
    return false;
  }

  private selfMarked(pid: number, startTime: string): boolean {
    const known = this.memo.get(pid);
    if (known && known.startTime === startTime) return known.marked;
    const environ = this.reader.environ(pid);
    const marked = environ !== null && environHasIgnoreMarker(environ);
    if (this.memo.size >= MEMO_LIMIT) this.memo.clear();
    this.memo.set(pid, { startTime, marked });
    return marked;
  }
}
