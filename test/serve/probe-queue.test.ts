import { describe, expect, it } from 'vitest';
import { ProbeQueue } from '../../src/serve/probe-queue.js';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('ProbeQueue', () => {
  it('runs at most `concurrency` tasks at a time, in order, once per key', async () => {
    const q = new ProbeQueue(2);
    const started: string[] = [];
    const gates = new Map<string, ReturnType<typeof deferred>>();
    const task = (k: string) => async () => {
      started.push(k);
      const d = deferred();
      gates.set(k, d);
      await d.promise;
    };
    for (const k of ['a', 'b', 'c', 'd']) q.add(k, task(k));
    q.add('a', task('a-again'));
    expect(started).toEqual(['a', 'b']);
    gates.get('a')?.resolve();
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual(['a', 'b', 'c']);
    q.cancel('d'); // still queued: dropped
    gates.get('b')?.resolve();
    gates.get('c')?.resolve();
    await q.idle();
    expect(started).toEqual(['a', 'b', 'c']);
  });

  it('cancel aborts a running task; close aborts all and refuses more; a failing task is contained', async () => {
    const q = new ProbeQueue(4);
    const aborted: string[] = [];
    const task = (k: string) => (signal: AbortSignal) =>
      new Promise<void>((resolve) => signal.addEventListener('abort', () => (aborted.push(k), resolve()), { once: true }));
    q.add('x', task('x'));
    q.add('y', task('y'));
    q.add('boom', async () => {
      throw new Error('probe failed');
    });
    q.cancel('x');
    await new Promise((r) => setImmediate(r));
    expect(aborted).toEqual(['x']);
    q.close();
    await q.idle();
    expect(aborted).toEqual(['x', 'y']);
    let ran = false;
    q.add('late', async () => void (ran = true));
    expect(ran).toBe(false);
    expect(q.size).toBe(0);
  });
});
