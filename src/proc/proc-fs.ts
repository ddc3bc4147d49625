/**
 * The one seam between portwatch and /proc/<pid>: every per-process file it reads (stat,
 * status, comm, cmdline, environ, cgroup, cwd, the netns link, the fd table), each read
 * bounded, parsed by the pure parsers in parse/. A process that is gone, a zombie, or another
 * user's gives null, silently: those are the races and limits every caller must take anyway.
 *
 * Everything above takes a ProcFs, so logic over the process table (ancestry, holders, the
 * tree `run` stops, the processes a marker names) is tested on a literal table
 * (test/helpers/fake-proc.ts) as well as on the real one. The fd walk's hot path
 * (owners/fd-reader.ts) and namespace handles need real paths for the kernel (setns, open) and
 * read procRoot directly.
 */
import { readdirSync, readlinkSync } from 'node:fs';
import { COMMAND_MAX_BYTES } from '../listener.js';
import { readBounded, readBoundedText } from '../owners/read-bounded.js';
import { parseProcStat, parseStatusSignals, parseStatusUid, type ProcStat, type StatusSignals } from '../parse/proc-pid.js';

export type { ProcStat, StatusSignals } from '../parse/proc-pid.js';

/** Bounds: a file is read up to this many bytes and no further. */
export const PROC_LIMITS = Object.freeze({
  stat: 1024,
  comm: 256,
  /** Command lines and the Uid: line of status fit: what is beyond is not shown anyway. */
  cmdline: COMMAND_MAX_BYTES,
  status: COMMAND_MAX_BYTES,
  /** Variables beyond 256 KiB of environment are not seen. */
  environ: 256 * 1024,
  /** Beyond any real cgroup file (the parser refuses longer text). */
  cgroup: 64 * 1024 + 1,
});

export interface ProcFs {
  /** The directory it reads (`/proc`, or another root in tests). */
  readonly root: string;
  /** Every pid listed now, in the order the directory gives. */
  pids(): number[];
  stat(pid: number): ProcStat | null;
  /** Effective uid, from status. */
  uid(pid: number): number | null;
  /** Which signals it blocks, ignores and catches, from status. */
  signals(pid: number): StatusSignals | null;
  /** The kernel's 15-byte name, without its newline. */
  comm(pid: number): string | null;
  /** The raw NUL-separated command line (empty for kernel threads), up to PROC_LIMITS.cmdline bytes. */
  cmdline(pid: number): string | null;
  environ(pid: number): Buffer | null;
  cgroup(pid: number): string | null;
  cwd(pid: number): string | null;
  /** The network namespace inode, decimal. */
  netns(pid: number | 'self'): string | null;
  /** The fd numbers open now. */
  fds(pid: number): string[] | null;
  /** What one fd points at (`socket:[123]`, a path…). */
  fd(pid: number, fd: string): string | null;
}

const NETNS_LINK = /^net:\[(\d+)\]$/;

function link(path: string): string | null {
  try {
    return readlinkSync(path);
  } catch {
    return null;
  }
}

/** The real /proc (or another root). */
export function procFs(root = '/proc'): ProcFs {
  return {
    root,
    pids() {
      let names: string[];
      try {
        names = readdirSync(root);
      } catch {
        return [];
      }
      const out: number[] = [];
      for (const name of names) {
        const c = name.charCodeAt(0);
        if (c >= 48 && c <= 57) out.push(Number(name));
      }
      return out;
    },
    stat(pid) {
      const text = readBoundedText(`${root}/${pid}/stat`, PROC_LIMITS.stat);
      return text === null ? null : parseProcStat(pid, text);
    },
    uid(pid) {
      const text = readBoundedText(`${root}/${pid}/status`, PROC_LIMITS.status);
      return text === null ? null : parseStatusUid(text);
    },
    signals(pid) {
      const text = readBoundedText(`${root}/${pid}/status`, PROC_LIMITS.status);
      return text === null ? null : parseStatusSignals(text);
    },
    comm(pid) {
      return readBoundedText(`${root}/${pid}/comm`, PROC_LIMITS.comm)?.replace(/\n$/, '') ?? null;
    },
    cmdline(pid) {
      return readBoundedText(`${root}/${pid}/cmdline`, PROC_LIMITS.cmdline);
    },
    environ(pid) {
      return readBounded(`${root}/${pid}/environ`, PROC_LIMITS.environ);
    },
    cgroup(pid) {
      return readBoundedText(`${root}/${pid}/cgroup`, PROC_LIMITS.cgroup);
    },
    cwd(pid) {
      return link(`${root}/${pid}/cwd`);
    },
    netns(pid) {
      const l = link(`${root}/${pid}/ns/net`);
      return l === null ? null : (NETNS_LINK.exec(l)?.[1] ?? null);
    },
    fds(pid) {
      try {
        return readdirSync(`${root}/${pid}/fd`);
      } catch {
        return null;
      }
    },
    fd(pid, fd) {
      return link(`${root}/${pid}/fd/${fd}`);
    },
  };
}

/** The real /proc, shared. */
export const realProc: ProcFs = procFs();
