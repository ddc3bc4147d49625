/**
 * A set of listeners by identity (see listenerKey) that builds no strings for the usual
 * case: a socket's inode is unique while it lives, so listeners are indexed by inode and
 * compared field by field. Only an inode that several distinct listeners share (0 for
 * kernel sockets, or a source of one's own) falls back to keys, so the cost stays O(1) per
 * listener whatever the input.
 */
import { listenerKey, sameListener, type Listener } from './listener.js';

export class ListenerSet {
  private readonly byInode = new Map<number, Listener>();
  /** Keys of every listener on an inode that more than one identity shares. */
  private shared: Map<number, Set<string>> | null = null;

  constructor(listeners: Iterable<Listener> = []) {
    for (const l of listeners) this.add(l);
  }

  /** Adds the listener; false when one with the same identity is already in the set. */
  add(l: Listener): boolean {
    const held = this.byInode.get(l.inode);
    if (held === undefined) {
      this.byInode.set(l.inode, l);
      return true;
    }
    if (sameListener(held, l)) return false;
    this.shared ??= new Map();
    let keys = this.shared.get(l.inode);
    if (keys === undefined) {
      keys = new Set([listenerKey(held)]);
      this.shared.set(l.inode, keys);
    }
    const key = listenerKey(l);
    if (keys.has(key)) return false;
    keys.add(key);
    return true;
  }

  has(l: Listener): boolean {
    const held = this.byInode.get(l.inode);
    if (held === undefined) return false;
    if (sameListener(held, l)) return true;
    const keys = this.shared?.get(l.inode);
    return keys !== undefined && keys.has(listenerKey(l));
  }
}
