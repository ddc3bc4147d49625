/**
 * Stopping what a private dockerd leaves behind, by pid and by path, never by name: its
 * containerd (Debian's dockerd starts one under its --exec-root), containerd shims and
 * their container processes, and mounts under its directory.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Alive and not a zombie (a zombie is dead; its parent just has not reaped it). */
export function pidAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

function ppidOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[1]);
  } catch {
    return null;
  }
}

export function cmdlineOf(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      .split('\0')
      .filter((a) => a !== '');
  } catch {
    return [];
  }
}

function allPids(): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number);
}

/** Waits (polling, bounded) until `pid` is gone. */
export async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (pidAlive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
  return true;
}

/** SIGTERM, then SIGKILL after `graceMs`; true once gone. */
export async function terminate(pid: number, graceMs: number): Promise<boolean> {
  if (!pidAlive(pid)) return true;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return !pidAlive(pid);
  }
  if (await waitGone(pid, graceMs)) return true;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone in between
  }
  return waitGone(pid, 5_000);
}

/** Processes whose command line mentions `dir` (our containerd, its shims): pid → argv. */
export function processesMentioning(dir: string): Map<number, string[]> {
  const found = new Map<number, string[]>();
  for (const pid of allPids()) {
    if (pid === process.pid) continue;
    const argv = cmdlineOf(pid);
    if (argv.some((a) => a === dir || a.startsWith(`${dir}/`) || a.includes(`=${dir}/`))) found.set(pid, argv);
  }
  return found;
}

/** Kills the children of `parent` (a shim's container processes), then waits for them. */
export async function killChildren(parent: number): Promise<void> {
  const children = allPids().filter((p) => ppidOf(p) === parent);
  for (const c of children) {
    try {
      process.kill(c, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await Promise.all(children.map((c) => waitGone(c, 5_000)));
}

/** Mount points at or under `dir`, deepest first. */
export function mountsUnder(dir: string): string[] {
  const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => unescape(line.split(' ')[4] ?? ''))
    .filter((mp) => mp === dir || mp.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/** Detaches every mount under `dir`; returns those still there afterwards. */
export function unmountUnder(dir: string): string[] {
  for (let pass = 0; pass < 3; pass++) {
    const mounts = mountsUnder(dir);
    if (mounts.length === 0) return [];
    for (const mp of mounts) spawnSync('umount', ['-l', mp], { stdio: 'ignore', timeout: 10_000 });
  }
  return mountsUnder(dir);
}
