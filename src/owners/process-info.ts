/**
 * pid → name, command line, ppid, uid, read through the /proc seam. Bounded reads only: the command
 * line is read up to 4 KiB and no further, so a 100,000-character command line costs the
 * same as a short one. Races (the process exits) and permissions give null, silently.
 */
import type { ProcessInfo } from '../listener.js';
import { procFs, realProc } from '../proc/proc-fs.js';

/** Command line with NULs as spaces; cut at COMMAND_MAX_BYTES. */
export function formatCmdline(raw: string): string {
  return raw.replace(/\0+$/, '').replace(/\0/g, ' ');
}

export function readProcessInfo(pid: number, procRoot = '/proc'): ProcessInfo | null {
  const proc = procRoot === realProc.root ? realProc : procFs(procRoot);
  const name = proc.comm(pid);
  if (name === null) return null; // gone
  const cmdline = proc.cmdline(pid);
  return {
    pid,
    ppid: proc.stat(pid)?.ppid ?? null,
    name,
    command: cmdline === null || cmdline === '' ? `[${name}]` : formatCmdline(cmdline),
    uid: proc.uid(pid),
  };
}
