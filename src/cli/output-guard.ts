/**
 * The reader of portwatch's output may go away at any moment (`portwatch list | head -1`,
 * `watch | grep -m1`): like ss and every other filter, portwatch then ends quietly with its
 * usual status, instead of dying of an unhandled EPIPE with a stack trace and status 1.
 * main installs the guard once; commands that would otherwise print forever ask to be told.
 */

let failure: NodeJS.ErrnoException | null = null;
const whenGone = new Set<() => void>();

/**
 * After this, an error writing stdout never throws: EPIPE (the reader left) ends output
 * silently; any other error (EIO, …) is reported once on stderr and makes the exit status 1.
 * Writes after the error are dropped by the destroyed stream. stderr errors are ignored:
 * there is nowhere left to report them (`portwatch watch 2>&1 | head -1`).
 */
export function guardOutput(stdout: NodeJS.WriteStream = process.stdout, stderr: NodeJS.WriteStream = process.stderr): void {
  stdout.on('error', (err: NodeJS.ErrnoException) => {
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
  });
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
  return () => whenGone.delete(callback);
}
