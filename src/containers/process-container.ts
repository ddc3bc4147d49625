/**
 * The container a process lives in, from its /proc/PID/cgroup (no engine needed).
 */
import { readBoundedText } from '../owners/read-bounded.js';
import { parseCgroupContainer, type CgroupContainer } from './cgroup-container.js';

/** Beyond any real cgroup file (parseCgroupContainer refuses longer text). */
const MAX_CGROUP_BYTES = 64 * 1024;

/** The container of `pid`, or null: on the host, unrecognised, or the process is gone. */
export function containerOfProcess(pid: number, procRoot = '/proc'): CgroupContainer | null {
  if (!Number.isSafeInteger(pid) || pid <= 0) return null;
  const text = readBoundedText(`${procRoot}/${pid}/cgroup`, MAX_CGROUP_BYTES + 1);
  return text === null ? null : parseCgroupContainer(text);
}
