/**
 * The process table as `run` needs it to stop a tree: pid, parent, process group, start
 * time, state and name, from /proc/<pid>/stat. Synchronous on purpose: the last-resort
 * cleanup runs in a process 'exit' handler, where nothing asynchronous happens.
 */
import { readdirSync } from 'node:fs';
import { readBounded } from '../owners/read-bounded.js';
import { parseProcStat, type ProcStat } from '../parse/proc-pid.js';

export type ProcEntry = ProcStat;
export { parseProcStat };

const STAT_MAX_BYTES = 1024;

export function readProcEntry(pid: number, procRoot = '/proc'): ProcEntry | null {
  const b = readBounded(`${procRoot}/${pid}/stat`, STAT_MAX_BYTES);
  return b === null ? null : parseProcStat(pid, b.toString('utf8'));
}

/** Every process readable now (those that exit meanwhile are left out). */
export function readProcTable(procRoot = '/proc'): ProcEntry[] {
  let names: string[];
  try {
    names = readdirSync(procRoot);
  } catch {
    return [];
  }
  const table: ProcEntry[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const entry = readProcEntry(Number(name), procRoot);
    if (entry !== null) table.push(entry);
  }
  return table;
}
