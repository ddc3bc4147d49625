/**
 * One bounded read of a /proc file: at most `max` bytes, one open, as few reads as needed,
 * so a huge command line or environment costs no more than the bound. A file that is
 * gone or unreadable (the process exited, another user's process) gives null, silently:
 * those are the documented attribution races.
 */
import { closeSync, openSync, readSync } from 'node:fs';

export function readBounded(path: string, max: number): Buffer | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const buf = Buffer.allocUnsafe(max);
    let total = 0;
    while (total < max) {
      const n = readSync(fd, buf, total, max - total, null);
      if (n === 0) break;
      total += n;
    }
    return buf.subarray(0, total);
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/** readBounded() as UTF-8 text. */
export function readBoundedText(path: string, max: number): string | null {
  return readBounded(path, max)?.toString('utf8') ?? null;
}
