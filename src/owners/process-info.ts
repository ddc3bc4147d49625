/**
 * pid → name, command line, ppid, uid, read from /proc. Bounded reads only: the command
 * line is read up to 4 KiB and no further, so a 100,000-character command line costs the
 * same as a short one. Races (the process exits) and permissions give null, silently.
 */
import { COMMAND_MAX_BYTES, type ProcessInfo } from '../listener.js';
import { parseStatPpid, parseStatusUid } from '../parse/proc-pid.js';
import { readBoundedText } from './read-bounded.js';

/** Command line with NULs as spaces; cut at COMMAND_MAX_BYTES. */
export function formatCmdline(raw: string): string {
  return raw.replace(/\0+$/, '').replace(/\0/g, ' ');
}

export function readProcessInfo(pid: number, procRoot = '/proc'): ProcessInfo | null {
  const comm = readBoundedText(`${procRoot}/${pid}/comm`, 256);
  if (comm === null) return null; // gone
  const stat = readBoundedText(`${procRoot}/${pid}/stat`, 1024);
  const status = readBoundedText(`${procRoot}/${pid}/status`, COMMAND_MAX_BYTES);
  const cmdline = readBoundedText(`${procRoot}/${pid}/cmdline`, COMMAND_MAX_BYTES);
  const name = comm.replace(/\n$/, '');
  const command = cmdline === null || cmdline === '' ? `[${name}]` : formatCmdline(cmdline);
  return {
    pid,
    ppid: stat === null ? null : parseStatPpid(stat),
    name,
    command,
    uid: status === null ? null : parseStatusUid(status),
  };
}
