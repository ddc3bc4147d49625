/**
 * Removing a tracefs instance. The kernel takes 30–70 ms to free one (its per-CPU buffers, an
 * RCU grace period) and refuses while its trace_pipe is open (EBUSY), so a removal is either
 * awaited off the main thread (a library closing its watcher), or left to another process:
 * a short-lived detached `sh`, or a watchdog started with the instance that removes it once
 * this process is gone, for commands that exit right after their answer (`wait`, `kill`).
 */
import { spawn } from 'node:child_process';
import { existsSync, rmdirSync } from 'node:fs';
import { rmdir, writeFile } from 'node:fs/promises';
import type { Socket } from 'node:net';

/** rmdir, once; false when the kernel still holds it (a read in progress). */
export function removeInstanceNow(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

/**
 * Removes the instance after its reader was closed, off the main thread: the kernel takes
 * 30–70 ms to free an instance (its per-CPU buffers, an RCU grace period), which would
 * otherwise hold up whatever the closing program does next (`wait` printing its answer).
 * Should a read still be in progress in the kernel (it cannot be cancelled), a line written
 * to trace_marker completes it; bounded.
 */
export async function removeInstance(dir: string, attempts = 20): Promise<boolean> {
  for (let i = 0; i < attempts; i++) {
    try {
      await rmdir(dir);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return true;
    }
    try {
      await writeFile(`${dir}/trace_marker`, 'portwatch: closing\n');
    } catch {
      // gone or not writable: the next rmdir says which
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return removeInstanceNow(dir);
}

/** How long a background removal keeps trying (40 × 50 ms). */
const BACKGROUND_TRIES = 40;
const REMOVE_LOOP = `i=0; while [ $i -lt ${BACKGROUND_TRIES} ]; do rmdir "$1" 2>/dev/null && exit 0; [ -d "$1" ] || exit 0; sleep 0.05; i=$((i+1)); done; exit 1`;
/** An absolute path spares the child a PATH search (a dozen stat()s on a developer's PATH). */
const SH = existsSync('/bin/sh') ? '/bin/sh' : 'sh';

/**
 * Leaves the removal to a short-lived detached `sh` (≤ 2 s), for a command that is about to
 * exit: the kernel takes 30–70 ms to free an instance, which `wait` would otherwise add to
 * every answer a script waits on. Its trace_pipe must be closed already (an open reader keeps
 * rmdir failing with EBUSY until the process is gone, which the loop also outlasts).
 */
export function removeInstanceInBackground(dir: string): void {
  try {
    const child = spawn(SH, ['-c', REMOVE_LOOP, 'sh', dir], { detached: true, stdio: 'ignore' });
    child.on('error', () => removeInstanceNow(dir)); // no sh: pay for it here
    child.unref();
  } catch {
    removeInstanceNow(dir);
  }
}

/** A process that removes an instance once this one is gone; see removeInstanceWhenGone(). */
export interface InstanceWatchdog {
  readonly dir: string;
  /** False once the watchdog itself ended (or could not start): it will remove nothing. */
  alive(): boolean;
}

/**
 * Starts a detached `sh` that removes `dir` once this process is gone, however it ends
 * (SIGKILL included): it waits on a pipe whose only writer is this process, which the kernel
 * closes when the process exits, then runs the removal loop. Started with the instance, the
 * spawn (3–5 ms of a busy host's main thread) costs nothing between a command's answer and its
 * exit, and nothing is left to do at exit. Null when it cannot be started.
 */
export function removeInstanceWhenGone(dir: string): InstanceWatchdog | null {
  let running = true;
  try {
    const child = spawn(SH, ['-c', `read _; ${REMOVE_LOOP}`, 'sh', dir], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
    child.on('error', () => (running = false));
    child.on('exit', () => (running = false));
    child.stdin?.on('error', () => {}); // never written: nothing to lose
    (child.stdin as Socket | null)?.unref();
    child.unref();
    if (child.pid === undefined) return null;
  } catch {
    return null;
  }
  return { dir, alive: () => running };
}
