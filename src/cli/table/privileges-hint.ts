/**
 * Without privileges, the owners of other users' sockets cannot be read (`ss -p` users learn
 * it the hard way): say so once, with the numbers. Pure.
 */
import type { Listener } from '../../listener.js';

/**
 * The line to print on stderr, or null: when nothing is hidden, or when running as root
 * (then an unknown owner has other causes: another pid namespace, a process gone).
 * Counted: listeners with no known owner whose socket belongs to another uid.
 */
export function privilegesHint(listeners: readonly Listener[], euid: number | undefined): string | null {
  if (euid === undefined || euid === 0) return null;
  const hidden = listeners.filter((l) => l.process === null && l.uid !== euid).length;
  if (hidden === 0) return null;
  return `portwatch: ${hidden} of ${listeners.length} listeners belong to processes this user cannot read; run as root to see them`;
}
