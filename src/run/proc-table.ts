/**
 * The process table as `run` needs it to stop a tree: pid, parent, process group, start
 * time, state and name, from /proc/<pid>/stat. Synchronous on purpose: the last-resort
 * cleanup runs in a process 'exit' handler, where nothing asynchronous happens.
 */
import { realProc, type ProcFs, type ProcStat } from '../proc/proc-fs.js';

export type ProcEntry = ProcStat;

export function readProcEntry(pid: number, proc: Pick<ProcFs, 'stat'> = realProc): ProcEntry | null {
  return proc.stat(pid);
}

/** Every process readable now (those that exit meanwhile are left out). */
export function readProcTable(proc: Pick<ProcFs, 'pids' | 'stat'> = realProc): ProcEntry[] {
  const table: ProcEntry[] = [];
  for (const pid of proc.pids()) {
    const entry = proc.stat(pid);
    if (entry !== null) table.push(entry);
  }
  return table;
}
