/**
 * The process table as `run` needs it to stop a tree: pid, parent, process group, start
 * time, state and name, from /proc/<pid>/stat. Synchronous on purpose: the last-resort
 * cleanup runs in a process 'exit' handler, where nothing asynchronous happens.
 */
import { readdirSync } from 'node:fs';
import { readBounded } from '../owners/read-bounded.js';

export interface ProcEntry {
  pid: number;
  ppid: number;
  pgid: number;
  /** Clock ticks since boot: with the pid, it names one process for good. */
  startTime: string;
  /** R, S, D, T, Z… (proc(5)); Z is a zombie: dead, only not yet reaped. */
  state: string;
  /** The kernel's 15-byte comm: chosen by the process, so shown escaped. */
  name: string;
}

const STAT_MAX_BYTES = 1024;

/** One /proc/<pid>/stat line; null on anything unexpected. The name may hold spaces and `)`. */
export function parseProcStat(pid: number, text: string): ProcEntry | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const fields = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  // fields[0] is field 3 of proc(5) (state): ppid 4, pgrp 5, starttime 22
  const [state, ppid, pgid, startTime] = [fields[0], fields[1], fields[2], fields[19]];
  if (state === undefined || ![ppid, pgid, startTime].every((f) => f !== undefined && /^\d+$/.test(f))) return null;
  return { pid, ppid: Number(ppid), pgid: Number(pgid), startTime: startTime as string, state, name: text.slice(open + 1, close) };
}

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
