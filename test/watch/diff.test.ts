import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareListeners, listenerKey, type Listener } from '../../src/listener.js';
import { diffListeners, diffSorted, type ListenerDiff } from '../../src/watch/diff.js';

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

describe('diffSorted', () => {
  it('on sorted snapshots, says what diffListeners says, in one merge walk', () => {
    fc.assert(
      fc.property(arbSnapshot, arbSnapshot, (a, b) => {
        const prev = [...a].sort(compareListeners);
        const next = [...b].sort(compareListeners);
        const merged = diffSorted(prev, next);
        const reference = diffListeners(prev, next);
        expect(merged).not.toBeNull();
        expect(keys(merged?.opened ?? [])).toEqual(keys(reference.opened));
        expect(keys(merged?.closed ?? [])).toEqual(keys(reference.closed));
      }),
    );
  });

  it('a socket rebuilt with its owner is no change; unsorted or scoped input is left to diffListeners', () => {
    const a = listener(80, 1);
    const withOwner = { ...a, process: { pid: 1, ppid: 0, name: 'x', command: 'x', uid: 0 } };
    expect(diffSorted([a], [withOwner])).toEqual({ opened: [], closed: [] });
    expect(diffSorted([listener(90, 1), listener(80, 2)], [])).toBeNull();
    expect(diffSorted([], [listener(80, 1), listener(80, 1)])).toBeNull();
    expect(diffSorted([listener(80, 1, 'fe80::1%eth0')], [])).toBeNull();
  });
});
