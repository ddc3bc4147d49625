/** Pure parsers for /proc/<pid>/{stat,status}. Total: null on anything unexpected. */
import { safeDecimal } from './decimal.js';

/**
 * /proc/<pid>/stat split: the name (field 2, in parentheses, which may itself contain spaces
 * and parentheses, so the fields are counted from the last `)`), then fields 3 onwards.
 */
function statFields(stat: string): { name: string; fields: string[] } | null {
  const open = stat.indexOf('(');
  const close = stat.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const fields = stat
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  return { name: stat.slice(open + 1, close), fields };
}

/** ppid from /proc/<pid>/stat. */
export function parseStatPpid(stat: string): number | null {
  // fields[0] is the state, fields[1] the ppid
  return safeDecimal(statFields(stat)?.fields[1]);
}

export interface ProcStat {
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

/** What `run` needs of one /proc/<pid>/stat line: parent, group, start time, state, name. */
export function parseProcStat(pid: number, stat: string): ProcStat | null {
  const split = statFields(stat);
  if (split === null) return null;
  // fields[0] is field 3 of proc(5) (state): ppid 4, pgrp 5, starttime 22
  const [state, ppidText, pgidText, startTime] = [split.fields[0], split.fields[1], split.fields[2], split.fields[19]];
  const ppid = safeDecimal(ppidText);
  const pgid = safeDecimal(pgidText);
  if (state === undefined || ppid === null || pgid === null || startTime === undefined || safeDecimal(startTime) === null) return null;
  return { pid, ppid, pgid, startTime, state, name: split.name };
}

/** Effective uid from the `Uid:` line of /proc/<pid>/status (real, effective, saved, fs). */
export function parseStatusUid(status: string): number | null {
  const m = /^Uid:\s+\d+\s+(\d+)/m.exec(status);
  return safeDecimal(m?.[1]);
}

/** The signal masks of /proc/<pid>/status: bit n - 1 stands for signal n. */
export interface StatusSignals {
  blocked: bigint;
  ignored: bigint;
  caught: bigint;
}

/** SigBlk, SigIgn and SigCgt from /proc/<pid>/status (hex masks); null when one is missing or not hex. */
export function parseStatusSignals(status: string): StatusSignals | null {
  const mask = (name: string): bigint | null => {
    const m = new RegExp(`^${name}:\\s*([0-9a-fA-F]{1,32})\\s*$`, 'm').exec(status);
    return m?.[1] === undefined ? null : BigInt(`0x${m[1]}`);
  };
  const [blocked, ignored, caught] = [mask('SigBlk'), mask('SigIgn'), mask('SigCgt')];
  return blocked === null || ignored === null || caught === null ? null : { blocked, ignored, caught };
}
