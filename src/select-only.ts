import type { ScanOptions, SocketFields } from './scan.js';

/**
 * `select` for a consumer that cares about some sockets only: `wanted`, narrowed further by the
 * caller's own `select` when there is one. The scanner then reads no owner of any other
 * socket, so on a busy host the first scan does not walk /proc for listeners nobody asked
 * about. A caller's `select` that is not a function is passed on for the scanner to refuse.
 */
export function selectOnly(wanted: (socket: SocketFields) => boolean, theirs: ScanOptions['select']): ScanOptions['select'] {
  if (theirs === undefined) return wanted;
  if (typeof theirs !== 'function') return theirs;
  return (socket) => wanted(socket) && theirs(socket);
}
