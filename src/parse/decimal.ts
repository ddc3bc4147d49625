/**
 * The one rule for decimal numbers in kernel and tool output: digits only, and small enough
 * to be an exact JavaScript number. Anything else makes the record unusable, so callers
 * drop the row rather than carry a rounded inode or uid that could name another socket.
 */

const DECIMAL_RE = /^[0-9]+$/;

/** `text` as a safe integer, or null when it is not plain digits or exceeds 2^53 - 1. */
export function safeDecimal(text: string | undefined): number | null {
  if (text === undefined || !DECIMAL_RE.test(text)) return null;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : null;
}
