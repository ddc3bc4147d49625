/**
 * Is a process part of the tree `portwatch run` started? Yes when its ppid chain, read at
 * the time its listener appears, reaches the root (the child), or when it carries the run's
 * token in its environment (a descendant that daemonized, and was reparented to init before
 * it listened, still has the variable unless it scrubbed its environment).
 *
 * Answers are remembered per (pid, start time), so a pid reused by an unrelated process is
 * not mistaken for a member, and a member reparented after its parent exited stays one.
 */
import { environValue, type ProcReader } from '../rules/proc.js';

/** Environment variable `run` gives its child; descendants inherit it. */
export const RUN_TOKEN_ENV = 'PORTWATCH_RUN_ID';
export const MAX_TREE_DEPTH = 128;
const MEMO_LIMIT = 16384;

export class ProcessTree {
  private readonly rootStart: string | null;
  private readonly memo = new Map<number, { startTime: string; member: boolean }>();

  constructor(
    readonly rootPid: number,
    private readonly reader: ProcReader,
    private readonly token: string | null = null,
  ) {
    this.rootStart = reader.stat(rootPid)?.startTime ?? null;
  }

  /** The processes placed in the tree so far (the root aside), so that stopping it finds them too. */
  placed(): { pid: number; startTime: string }[] {
    return [...this.memo].filter(([, m]) => m.member).map(([pid, m]) => ({ pid, startTime: m.startTime }));
  }

  /** Is `pid` the root or one of its descendants? */
  contains(pid: number): boolean {
    const chain: { pid: number; startTime: string }[] = [];
    let current = pid;
    let member = false;
    let certain = true; // false when a process vanished mid-walk: do not remember a guess
    for (let depth = 0; depth < MAX_TREE_DEPTH && current > 0; depth++) {
      const stat = this.reader.stat(current);
      if (stat === null) {
        certain = chain.length === 0;
        break;
      }
      if (current === this.rootPid && (this.rootStart === null || stat.startTime === this.rootStart)) {
        member = true;
        break;
      }
      const known = this.memo.get(current);
      if (known && known.startTime === stat.startTime) {
        member = known.member;
        break;
      }
      chain.push({ pid: current, startTime: stat.startTime });
      if (chain.some((c) => c.pid === stat.ppid)) break; // a loop: /proc changed under us
      current = stat.ppid;
    }
    if (this.memo.size >= MEMO_LIMIT) this.memo.clear();
    if (member) {
      for (const c of chain) this.memo.set(c.pid, { startTime: c.startTime, member });
      return true;
    }
    // Not reached through parents: the token may still say it, for the process or an ancestor.
    if (this.token !== null) {
      const marked = chain.findIndex((c) => {
        const environ = this.reader.environ(c.pid);
        return environ !== null && environValue(environ, RUN_TOKEN_ENV) === this.token;
      });
      if (marked >= 0) {
        for (const c of chain.slice(0, marked + 1)) this.memo.set(c.pid, { startTime: c.startTime, member: true });
        return true;
      }
    }
    if (certain) for (const c of chain) this.memo.set(c.pid, { startTime: c.startTime, member: false });
    return false;
  }
}
