/**
 * The reader of portwatch's output may go away at any moment (`portwatch list | head -1`,
 * `watch | grep -m1`): like ss and every other filter, portwatch then ends quietly with its
 * usual status, instead of dying of an unhandled EPIPE with a stack trace and status 1.
 * main installs the guard once; commands that would otherwise print forever ask to be told.
 */

import { fstatSync } from 'node:fs';
import { loadSockDiagAddon } from '../sources/sock-diag-addon.js';

let failure: NodeJS.ErrnoException | null = null;
const whenGone = new Set<() => void>();
let guarded: NodeJS.WriteStream | null = null;

interface GoneAddon {
  watchGone?: (fd: number, onGone: () => void) => object;
}
/** The addon's watch on stdout (kept referenced: its thread stops when the handle is collected). */
let goneWatch: object | null = null;

/** stdout can no longer be written: say so once, to everyone who asked. */
function outputFailed(err: NodeJS.ErrnoException, stderr: NodeJS.WriteStream): void {
  if (failure !== null) return;
  failure = err;
  if (err.code !== 'EPIPE') {
    stderr.write(`portwatch: cannot write the output: ${err.code ?? err.message}\n`);
    process.on('exit', () => {
      if (!process.exitCode) process.exitCode = 1;
    });
  }
  for (const callback of [...whenGone]) callback();
  whenGone.clear();
}

/**
 * For a command that prints only when something happens (`watch | head -1` on a quiet host),
 * the next write may be far off: when stdout is a pipe or a socket, the addon's thread waits
 * for the kernel to report it broken (every reader gone) and the command learns it then,
 * instead of at that write. Nothing when stdout is a file or a terminal, or without the addon.
 */
function watchReaderGone(stdout: NodeJS.WriteStream): void {
  const fd = (stdout as { fd?: unknown }).fd;
  if (goneWatch !== null || failure !== null || typeof fd !== 'number') return;
  try {
    const st = fstatSync(fd);
    if (!st.isFIFO() && !st.isSocket()) return;
  } catch {
    return;
  }
  const addon = loadSockDiagAddon() as GoneAddon | null;
  if (typeof addon?.watchGone !== 'function') return;
  const gone = Object.assign(new Error('the reader of the output has gone'), { code: 'EPIPE' });
  try {
    goneWatch = addon.watchGone(fd, () => outputFailed(gone, process.stderr));
  } catch {
    // no thread to spare: told at the next write, as without the addon
  }
}

/**
 * After this, an error writing stdout never throws: EPIPE (the reader left) ends output
 * silently; any other error (EIO, …) is reported once on stderr and makes the exit status 1.
 * Writes after the error are dropped by the destroyed stream. stderr errors are ignored:
 * there is nowhere left to report them (`portwatch watch 2>&1 | head -1`).
 */
export function guardOutput(stdout: NodeJS.WriteStream = process.stdout, stderr: NodeJS.WriteStream = process.stderr): void {
  guarded = stdout;
  stdout.on('error', (err: NodeJS.ErrnoException) => outputFailed(err, stderr));
  stderr.on('error', () => {});
}

/** Calls `callback` once stdout can no longer be written (at once if that already happened); returns a way to cancel. */
export function onOutputGone(callback: () => void): () => void {
  if (failure !== null) {
    let cancelled = false;
    queueMicrotask(() => {
      if (!cancelled) callback();
    });
    return () => (cancelled = true);
  }
  whenGone.add(callback);
  if (guarded !== null) watchReaderGone(guarded);
  return () => whenGone.delete(callback);
}
