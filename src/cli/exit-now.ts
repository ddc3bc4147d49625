/**
 * Ending a short-lived command the moment its answer is out. Node's process.exit() tears the
 * process down in order first ('exit' handlers, cleanup hooks, joining V8's and libuv's threads),
 * which adds 3–8 ms between the last write and the parent hearing of the exit; the addon's
 * exitNow() is _exit(2). Only for a command whose output is written and whose exit needs
 * nothing else (`wait`: its tracefs instance has a watchdog of its own); without the addon it
 * is process.exit(). The addon also hands the process's memory to a child to free (see
 * native/exit-now.c), which takes the kernel's 5–9 ms of freeing it off the exit the parent sees.
 */
import { loadSockDiagAddon } from '../sources/sock-diag-addon.js';

interface ExitAddon {
  exitNow?: (status: number, handOff: boolean) => never;
}

/** The status process.exit() would give: process.exitCode when set (output-guard.ts sets it), its low 8 bits, else 0. */
export function exitStatus(): number {
  const code = Number(process.exitCode ?? 0);
  return Number.isInteger(code) ? code & 0xff : 1;
}

/** Ends the process now with exitStatus(). */
export function exitNow(): never {
  const addon = loadSockDiagAddon() as ExitAddon | null;
  if (typeof addon?.exitNow === 'function') addon.exitNow(exitStatus(), true);
  return process.exit();
}
