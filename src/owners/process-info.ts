/**
 * pid → name, command line, ppid, uid, read from /proc. Bounded reads only: the command
 * line is read once into a fixed buffer, so a 100,000-character command line costs the
 * same as a short one. Races (the process exits) and permissions give null, silently.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { COMMAND_MAX_BYTES, type ProcessInfo } from '../listener.js';
import { parseStatPpid, parseStatusUid } from '../parse/proc-pid.js';

const buf = Buffer.allocUnsafe(COMMAND_MAX_BYTES);

/** Reads at most `max` bytes of a file with a single open and as few reads as needed. */
function readBounded(path: string, max: number): string | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    let total = 0;
    while (total < max) {
      const n = readSync(fd, buf, total, max - total, null);
      if (n === 0) break;
      total += n;
    }
    return buf.toString('utf8', 0, total);
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/** Command line with NULs as spaces; cut at COMMAND_MAX_BYTES. */
export function formatCmdline(raw: string): string {
  return raw.replace(/\0+$/, '').replace(/\0/g, ' ');
}

export function readProcessInfo(pid: number, procRoot = '/proc'): ProcessInfo | null {
  const comm = readBounded(`${procRoot}/${pid}/comm`, 256);
  if (comm === null) return null; // gone
  const stat = readBounded(`${procRoot}/${pid}/stat`, 1024);
  const status = readBounded(`${procRoot}/${pid}/status`, COMMAND_MAX_BYTES);
  const cmdline = readBounded(`${procRoot}/${pid}/cmdline`, COMMAND_MAX_BYTES);
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
