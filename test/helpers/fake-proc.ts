/**
 * A literal process table behind the ProcFs seam: pid → what /proc would show. Mutable (a
 * test makes a process exit, or a pid be reused, by editing `rows`), and it counts reads so
 * a test can say what a piece of logic paid. test/proc/proc-fs.test.ts holds it to the real
 * /proc's behaviour.
 */
import type { ProcFs, StatusSignals } from '../../src/proc/proc-fs.js';

export interface FakeProcess {
  ppid: number;
  /** Clock ticks since boot (stat field 22): with the pid, one process for good. */
  startTime: string;
  name?: string;
  state?: string;
  pgid?: number;
  uid?: number;
  /** The signal masks of status (default: none blocked, ignored or caught). */
  signals?: StatusSignals;
  /** argv; joined with NULs as /proc/<pid>/cmdline is. */
  argv?: string[];
  /** NAME=value entries. */
  env?: string[];
  cgroup?: string;
  cwd?: string;
  netns?: string;
  /** fd number → link target (`socket:[123]`). */
  fds?: Record<string, string>;
}

export type FakeProc = ProcFs & { rows: Record<number, FakeProcess>; reads: Record<string, number> };

export function fakeProc(rows: Record<number, FakeProcess>): FakeProc {
  const reads: Record<string, number> = {};
  const row = (what: string, pid: number): FakeProcess | undefined => {
    reads[what] = (reads[what] ?? 0) + 1;
    return fake.rows[pid];
  };
  const fake: FakeProc = {
    root: '(a literal table)',
    rows,
    reads,
    pids: () => Object.keys(fake.rows).map(Number),
    stat(pid) {
      const r = row('stat', pid);
      if (r === undefined) return null;
      return { pid, ppid: r.ppid, pgid: r.pgid ?? pid, startTime: r.startTime, state: r.state ?? 'S', name: r.name ?? `p${pid}` };
    },
    uid: (pid) => row('uid', pid)?.uid ?? null,
    signals(pid) {
      const r = row('signals', pid);
      return r === undefined ? null : (r.signals ?? { blocked: 0n, ignored: 0n, caught: 0n });
    },
    comm(pid) {
      const r = row('comm', pid);
      return r === undefined ? null : (r.name ?? `p${pid}`);
    },
    cmdline(pid) {
      const r = row('cmdline', pid);
      return r === undefined ? null : (r.argv ?? []).map((a) => `${a}\0`).join('');
    },
    environ(pid) {
      const r = row('environ', pid);
      return r === undefined ? null : Buffer.from((r.env ?? []).map((e) => `${e}\0`).join(''));
    },
    cgroup: (pid) => row('cgroup', pid)?.cgroup ?? null,
    cwd: (pid) => row('cwd', pid)?.cwd ?? null,
    netns: (pid) => (pid === 'self' ? null : (row('netns', pid)?.netns ?? null)),
    fds(pid) {
      const r = row('fds', pid);
      return r === undefined ? null : Object.keys(r.fds ?? {});
    },
    fd: (pid, fd) => row('fd', pid)?.fds?.[fd] ?? null,
  };
  return fake;
}
