import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { listenerKey, type Listener } from '../../src/listener.js';
import { diffListeners, type ListenerDiff } from '../../src/watch/diff.js';

/** Applies a diff to a snapshot: the inverse of diffListeners, the oracle these properties check against. */
function applyDiff(snapshot: readonly Listener[], diff: ListenerDiff): Listener[] {
  const closed = new Set(diff.closed.map(listenerKey));
  return [...snapshot.filter((l) => !closed.has(listenerKey(l))), ...diff.opened];
}

const listener = (port: number, inode: number, address = '127.0.0.1'): Listener => ({
  protocol: 'tcp',
  family: 4,
  address,
  port,
  dualStack: false,
  interface: null,
  inode,
  uid: 0,
  netns: '1',
  process: null,
});

const arbListener = fc
  .record({ port: fc.integer({ min: 1, max: 6 }), inode: fc.integer({ min: 1, max: 6 }), address: fc.constantFrom('127.0.0.1', '0.0.0.0') })
  .map((r) => listener(r.port, r.inode, r.address));
const arbSnapshot = fc.uniqueArray(arbListener, { selector: listenerKey });
const keys = (ls: Listener[]) => ls.map(listenerKey).sort();

describe('diffListeners', () => {
  it('a server restarted on the same port is a close and an open', () => {
    const d = diffListeners([listener(3000, 1)], [listener(3000, 2)]);
    expect(d.closed.map((l) => l.inode)).toEqual([1]);
    expect(d.opened.map((l) => l.inode)).toEqual([2]);
  });

  it('folding the diff onto the previous snapshot gives the next one', () => {
    fc.assert(
      fc.property(arbSnapshot, arbSnapshot, (prev, next) => {
        expect(keys(applyDiff(prev, diffListeners(prev, next)))).toEqual(keys(next));
      }),
    );
  });

  it('folding a whole history of diffs gives the last snapshot; every change is reported exactly once', () => {
    fc.assert(
      fc.property(fc.array(arbSnapshot, { minLength: 1, maxLength: 8 }), (history) => {
        let state = history[0] ?? [];
        for (const next of history.slice(1)) {
          const d = diffListeners(state, next);
          expect(new Set(d.opened.map(listenerKey)).size).toBe(d.opened.length);
          expect(d.opened.some((o) => state.some((s) => listenerKey(s) === listenerKey(o)))).toBe(false);
          state = applyDiff(state, d);
        }
        expect(keys(state)).toEqual(keys(history.at(-1) ?? []));
      }),
    );
  });
});
