/**
 * The container a process lives in, from its /proc/PID/cgroup (no engine needed).
 */
import { realProc, type ProcFs } from '../proc/proc-fs.js';
import { parseCgroupContainer, type CgroupContainer } from './cgroup-container.js';

/** The container of `pid`, or null: on the host, unrecognised, or the process is gone. */
export function containerOfProcess(pid: number, proc: Pick<ProcFs, 'cgroup'> = realProc): CgroupContainer | null {
  if (!Number.isSafeInteger(pid) || pid <= 0) return null;
  const text = proc.cgroup(pid);
  return text === null ? null : parseCgroupContainer(text);
}
