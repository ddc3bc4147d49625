/**
 * Bounded reads: one open, as few reads as needed, never more than the bound, whatever
 * the file claims to be. A size from stat() is no bound: /dev/zero, a FIFO and most of
 * /proc report 0 and then never end (or end far later).
 *
 * readBounded() is for /proc files: a huge command line or environment costs no more than
 * the bound, and a file that is gone or unreadable (the process exited, another user's
 * process) gives null, silently: those are the documented attribution races.
 * readAtMost() is for files a user names (--config, --token-file): errors are thrown for
 * the caller to word, and it says whether there was more than the bound.
 */
import { closeSync, openSync, readSync } from 'node:fs';

/** Up to `size` bytes from an open fd: stops at end of file or once `size` bytes are in. */
function readUpTo(fd: number, size: number): Buffer {
  const buf = Buffer.allocUnsafe(size);
  let total = 0;
  while (total < size) {
    const n = readSync(fd, buf, total, size - total, null);
    if (n === 0) break;
    total += n;
  }
  return buf.subarray(0, total);
}

export function readBounded(path: string, max: number): Buffer | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    return readUpTo(fd, max);
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

export interface AtMost {
  /** The first `max` bytes at most. */
  bytes: Buffer;
  /** The file had more than `max` bytes (only `max` + 1 were read to know it). */
  more: boolean;
}

/**
 * Up to `max` bytes of a file a user named. Throws what open/read throw (ENOENT, EACCES,
 * EISDIR, …). Blocks as `cat` would on a FIFO with no writer yet.
 */
export function readAtMost(path: string, max: number): AtMost {
  const fd = openSync(path, 'r');
  try {
    const bytes = readUpTo(fd, max + 1);
    return bytes.length > max ? { bytes: bytes.subarray(0, max), more: true } : { bytes, more: false };
  } finally {
    closeSync(fd);
  }
}
