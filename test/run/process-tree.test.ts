import { describe, expect, it } from 'vitest';
import { fakeProc, type FakeProc, type FakeProcess } from '../helpers/fake-proc.js';
import { MAX_TREE_DEPTH, ProcessTree, RUN_TOKEN_ENV } from '../../src/run/process-tree.js';

type Row = FakeProcess;
/** One process: parent, start time, environment. */
const p = (ppid: number, startTime: string, env: string[] = []): Row => ({ ppid, startTime, env });

/** A literal, mutable process table (edits show at the next read). */
function table(rows: Record<number, Row>): FakeProc & { readonly statReads: number } {
  const proc = fakeProc(rows);
  return Object.defineProperty(proc, 'statReads', { get: () => proc.reads.stat ?? 0 }) as FakeProc & { readonly statReads: number };
}

// 1 init → 10 shell → 20 portwatch run → 30 child (root) → 40 npm → 50 node (listens)
//                   ↘ 60 unrelated server
const base = (): Record<number, Row> => ({
  1: p(0, '1'),
  10: p(1, '10'),
  20: p(10, '20'),
  30: p(20, '30', [`${RUN_TOKEN_ENV}=tok`]),
  40: p(30, '40', [`${RUN_TOKEN_ENV}=tok`]),
  50: p(40, '50', [`${RUN_TOKEN_ENV}=tok`]),
  60: p(10, '60'),
});

describe('ProcessTree', () => {
  it('contains the root and its descendants, through the ppid chain', () => {
    const tree = new ProcessTree(30, table(base()));
    expect(tree.contains(30)).toBe(true);
    expect(tree.contains(40)).toBe(true);
    expect(tree.contains(50)).toBe(true);
    expect(tree.contains(20)).toBe(false); // portwatch itself, and everything above
    expect(tree.contains(60)).toBe(false);
    expect(tree.contains(999)).toBe(false);
  });

  it('remembers members: a descendant reparented to init after its parent exited stays one', () => {
    const reader = table(base());
    const tree = new ProcessTree(30, reader);
    expect(tree.contains(50)).toBe(true);
    delete reader.rows[40];
    delete reader.rows[30];
    reader.rows[50] = p(1, '50', []);
    expect(tree.contains(50)).toBe(true);
  });

  it('lists the members it placed, by pid and start time, for stopping the tree', () => {
    const tree = new ProcessTree(30, table(base()));
    expect(tree.placed()).toEqual([]);
    tree.contains(50);
    tree.contains(60);
    expect(tree.placed()).toEqual([
      { pid: 50, startTime: '50' },
      { pid: 40, startTime: '40' },
    ]);
  });

  it('does not take a reused pid for a member', () => {
    const reader = table(base());
    const tree = new ProcessTree(30, reader);
    expect(tree.contains(50)).toBe(true);
    reader.rows[50] = p(10, '77'); // pid 50 now names a process started later, elsewhere
    expect(tree.contains(50)).toBe(false);
  });

  it('does not take a reused root pid for the root', () => {
    const reader = table(base());
    const tree = new ProcessTree(30, reader);
    reader.rows[30] = p(10, '99');
    reader.rows[41] = p(30, '100');
    expect(tree.contains(41)).toBe(false);
  });

  it('knows a daemonized descendant (reparented before it listened) by the token', () => {
    const rows = base();
    rows[70] = p(1, '70', [`${RUN_TOKEN_ENV}=tok`]); // double-forked away from 50
    rows[71] = p(70, '71', []); // its worker, environment scrubbed
    rows[80] = p(1, '80', [`${RUN_TOKEN_ENV}=other`]); // another run's
    const tree = new ProcessTree(30, table(rows), 'tok');
    expect(tree.contains(70)).toBe(true);
    expect(tree.contains(71)).toBe(true); // its ancestor carries the token
    expect(tree.contains(80)).toBe(false);
    expect(new ProcessTree(30, table(rows)).contains(70)).toBe(false); // without a token: the ppid chain only
  });

  it('walks each chain once: later questions about the same processes are answered from memory', () => {
    const reader = table(base());
    const tree = new ProcessTree(30, reader);
    tree.contains(50);
    tree.contains(60);
    const reads = reader.statReads;
    expect(tree.contains(50)).toBe(true);
    expect(tree.contains(60)).toBe(false);
    expect(reader.statReads - reads).toBe(2); // one stat each, to check the start time
  });

  it('is bounded on cycles and very deep chains', () => {
    expect(new ProcessTree(30, table({ 7: p(8, '1'), 8: p(7, '1'), 30: p(1, '30') })).contains(7)).toBe(false);
    const deep: Record<number, Row> = { 30: p(1, '30') };
    for (let pid = 1000; pid < 1000 + MAX_TREE_DEPTH + 10; pid++) deep[pid] = p(pid === 1000 ? 30 : pid - 1, String(pid));
    const reader = table(deep);
    expect(new ProcessTree(30, reader).contains(1000 + MAX_TREE_DEPTH + 9)).toBe(false);
    expect(reader.statReads).toBeLessThanOrEqual(MAX_TREE_DEPTH + 1);
  });
});
