/**
 * Ending a short-lived command the moment its answer is out. Node's process.exit() tears the
 * process down in order first ('exit' handlers, cleanup hooks, joining V8's and libuv's threads),
 * which adds 3–8 ms between the last write and the parent hearing of the exit; the addon's
 * exitNow() is _exit(2). Only for a command whose output is written and whose exit needs
 * nothing else (`wait`: its tracefs instance has a watchdog of its own); without the addon it
 * is process.exit().
 *
 * The addon can also leave the freeing of the process's memory (5–9 ms more) to a child that
 * outlives it (native/exit-now.c). That child is an orphan for a moment, adopted by the nearest
 * subreaper or pid 1, so it is made only where pid 1 visibly collects children: it catches,
 * ignores or blocks (to read through signalfd or sigwait) SIGCHLD, as systemd, tini, dumb-init
 * and shells do. A container whose pid 1 is an application (`node app.js`, `sleep infinity`)
 * would keep the orphan as a zombie. PORTWATCH_EXIT_HANDOFF=1 or =0 decides instead.
 */
import { constants } from 'node:os';
import { realProc, type ProcFs } from '../proc/proc-fs.js';
import { loadSockDiagAddon } from '../sources/sock-diag-addon.js';

interface ExitAddon {
  exitNow?: (status: number, handOff: boolean) => never;
}

/** The status process.exit() would give: process.exitCode when set (output-guard.ts sets it), its low 8 bits, else 0. */
export function exitStatus(): number {
  const code = Number(process.exitCode ?? 0);
  return Number.isInteger(code) ? code & 0xff : 1;
}

/** Whether an orphan this process leaves would be collected (see above); `env` and `proc` for tests. */
export function orphansCollected(env: NodeJS.ProcessEnv = process.env, proc: ProcFs = realProc): boolean {
  const choice = env.PORTWATCH_EXIT_HANDOFF;
  if (choice === '1') return true;
  if (choice === '0') return false;
  const init = proc.signals(1);
  if (init === null) return false;
  const sigchld = 1n << BigInt(constants.signals.SIGCHLD - 1);
  return ((init.blocked | init.ignored | init.caught) & sigchld) !== 0n;
}

/** Ends the process now with exitStatus(). */
export function exitNow(): never {
  const addon = loadSockDiagAddon() as ExitAddon | null;
  if (typeof addon?.exitNow === 'function') addon.exitNow(exitStatus(), orphansCollected());
  return process.exit();
}
