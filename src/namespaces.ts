/**
 * Where portwatch runs: inside a container or not, and which network namespace it reads.
 */
import { existsSync, readFileSync } from 'node:fs';
import { procFs, realProc } from './proc/proc-fs.js';

/** Inode of the network namespace of `pid` (default: ourselves) as a decimal string, or null. */
export function netnsOf(pid?: number, procRoot = '/proc'): string | null {
  return (procRoot === realProc.root ? realProc : procFs(procRoot)).netns(pid ?? 'self');
}

/** Does a process with this pid exist (as far as /proc shows us)? */
export function processExists(pid: number, procRoot = '/proc'): boolean {
  return Number.isSafeInteger(pid) && pid > 0 && existsSync(`${procRoot}/${pid}`);
}

export interface ContainerInfo {
  inContainer: boolean;
  /** What gave it away: `/.dockerenv`, `/run/.containerenv`, `cgroup`, `env`; null when not in one. */
  evidence: string | null;
}

const CGROUP_HINT_RE = /\b(docker|kubepods|containerd|libpod|podman|lxc|garden)\b/;

/** Pure part of container detection: does a /proc/1/cgroup text name a container runtime? */
export function cgroupSuggestsContainer(cgroup: string): boolean {
  return CGROUP_HINT_RE.test(cgroup);
}

/**
 * Best-effort container detection. The seed only ran inside containers; portwatch runs
 * anywhere and says where it is.
 */
export function detectContainer(root = '/'): ContainerInfo {
  if (existsSync(`${root}.dockerenv`)) return { inContainer: true, evidence: '/.dockerenv' };
  if (existsSync(`${root}run/.containerenv`)) return { inContainer: true, evidence: '/run/.containerenv' };
  if (process.env.container !== undefined && process.env.container !== '') return { inContainer: true, evidence: 'env' };
  try {
    if (cgroupSuggestsContainer(readFileSync(`${root}proc/1/cgroup`, 'utf8'))) return { inContainer: true, evidence: 'cgroup' };
  } catch {
    // no /proc/1/cgroup: nothing to learn
  }
  return { inContainer: false, evidence: null };
}

export function isInContainer(): boolean {
  return detectContainer().inContainer;
}
