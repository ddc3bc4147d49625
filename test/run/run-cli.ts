/** `portwatch run` as a user runs it, with stdin to write to; every process is stopped by pid. */
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readProcEntry } from '../../src/run/proc-table.js';
import { startCli, type LiveCli } from '../helpers/cli.js';

export const FAMILY = fileURLToPath(new URL('./family.mjs', import.meta.url));

export type RunningCli = LiveCli;

const started = new Set<ChildProcess>();
const strays = new Set<number>();

export function startRun(args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): RunningCli {
  const run = startCli(args, env, { stdin: 'pipe', ...(cwd !== undefined ? { cwd } : {}) });
  started.add(run.child);
  return run;
}

/** Remembers a process a test's command started (a grandchild), to be stopped by pid. */
export function track(pid: number): number {
  strays.add(pid);
  return pid;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Gone, or dead and not yet reaped (init here may be slow to reap): kill(pid, 0) counts a zombie as alive. */
export function gone(pid: number): boolean {
  const e = readProcEntry(pid);
  return e === null || e.state === 'Z';
}

export async function stopRuns(): Promise<void> {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all(
    [...started].map((c) => (c.exitCode !== null || c.signalCode !== null ? null : new Promise((r) => c.once('close', r)))),
  );
  started.clear();
  for (const pid of strays) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  strays.clear();
}

/** `gc PID PORT` lines printed by family.mjs grandchildren. */
export function grandchildren(text: string): { pid: number; port: number }[] {
  return [...text.matchAll(/^gc (\d+) (\d+)/gm)].map((m) => ({ pid: track(Number(m[1])), port: Number(m[2]) }));
}
