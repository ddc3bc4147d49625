/**
 * When a watcher scans (src/watch/scan-queue.ts): one scan in flight and one pending however
 * many ask, a rescan outranking a hint, the hints and tasks gathered for the scan that answers
 * them, and nothing after stop(). Scans here are promises the test resolves.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Hint } from '../../src/triggers/trigger.js';
import { ScanQueue, type ScanJob } from '../../src/watch/scan-queue.js';
import { waitFor } from '../helpers/processes.js';

const listen = (port: number, tid?: number): Hint => ({ kind: 'listen', port, ...(tid === undefined ? {} : { tid }) });

/** A queue whose scans wait for the test: `jobs` in order, `finish()` ends the oldest one running. */
function harness(timerDelayMs = 60_000) {
  const jobs: ScanJob[] = [];
  const running: (() => void)[] = [];
  const queue: ScanQueue = new ScanQueue(async (job) => {
    jobs.push(job);
    await new Promise<void>((resolve) => running.push(resolve));
    queue.arm(queue.next(timerDelayMs));
  }, false);
  const finish = (): void => running.shift()!();
  return { queue, jobs, finish, running };
}

let stopAll: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(stopAll.map((s) => s()));
  stopAll = [];
});

function started(timerDelayMs?: number) {
  const h = harness(timerDelayMs);
  stopAll.push(async () => {
    const stopping = h.queue.stop();
    while (h.running.length > 0) h.finish();
    await stopping;
  });
  h.queue.start();
  return h;
}

describe('ScanQueue', () => {
  it('starts with the first scan at once', async () => {
    const h = started();
    await waitFor(() => h.jobs.length === 1, 'the first scan', 2_000, 2);
    expect(h.jobs[0]).toEqual({ reason: 'first', hints: [], likely: [], asked: expect.any(Promise) });
  });

  it('tells a running scan when a hint says a listener may have appeared (its owner search may stop waiting), and only that scan', async () => {
    const h = started();
    await waitFor(() => h.jobs.length === 1, 'the first scan', 2_000, 2);
    let firstAsked = false;
    void h.jobs[0]!.asked.then(() => (firstAsked = true));
    h.queue.request('rescan'); // a caller's rescan(): no new listener known of
    h.queue.hint({ kind: 'bind', tid: 5 }); // a bind() anywhere on the host
    h.queue.hint({ kind: 'unlisten', port: 2 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(firstAsked).toBe(false);
    h.queue.hint(listen(1));
    await waitFor(() => firstAsked, "the first scan's asked", 2_000, 2);
    h.finish();
    await waitFor(() => h.jobs.length === 2, 'the scan that was asked for', 2_000, 2);
    let secondAsked = false;
    void h.jobs[1]!.asked.then(() => (secondAsked = true));
    h.finish(); // ended with nobody asking: the next is on the (60 s) timer
    await new Promise((resolve) => setTimeout(resolve, 20));
    h.queue.request('rescan'); // asked between scans: a new scan, not the ended one's `asked`
    await waitFor(() => h.jobs.length === 3, 'the rescan', 2_000, 2);
    expect(secondAsked).toBe(false);
  });

  it('however many ask while a scan runs, one follows it, and a rescan outranks a hint', async () => {
    const h = started();
    await waitFor(() => h.jobs.length === 1, 'the first scan', 2_000, 2);
    h.queue.hint(listen(1));
    h.queue.request('rescan');
    h.queue.hint(listen(2));
    h.queue.request('hint');
    h.finish();
    await waitFor(() => h.jobs.length === 2, 'the scan that was asked for', 2_000, 2);
    expect(h.jobs[1]!.reason).toBe('rescan');
    expect(h.jobs[1]!.hints.map((x) => x.port)).toEqual([1, 2]);
    h.finish();
    // Nothing pending any more: the next is on the timer, a minute away.
    await new Promise((r) => setTimeout(r, 50));
    expect(h.jobs).toHaveLength(2);
  });

  it('a scan takes the hints gathered before it (16 kept) and every task they named, once each', async () => {
    const h = started();
    await waitFor(() => h.jobs.length === 1, 'the first scan', 2_000, 2);
    for (let i = 0; i < 40; i++) h.queue.hint(listen(1000 + i, 100 + (i % 20)));
    h.finish();
    await waitFor(() => h.jobs.length === 2, 'the hinted scan', 2_000, 2);
    const job = h.jobs[1]!;
    expect(job.reason).toBe('hint');
    expect(job.hints).toHaveLength(16);
    expect(job.hints[0]!.port).toBe(1000);
    expect([...job.likely].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => 100 + i));
    h.finish();
    await waitFor(() => h.running.length === 0, 'the hinted scan to end', 2_000, 2);
    // Gathered afresh for the next one.
    h.queue.hint(listen(5, 7));
    await waitFor(() => h.jobs.length === 3, 'the next hinted scan', 2_000, 2);
    expect(h.jobs[2]).toMatchObject({ reason: 'hint', hints: [listen(5, 7)], likely: [7] });
  });

  it('with nothing pending the next scan is on the timer; a request brings it forward', async () => {
    const h = started(60_000);
    await waitFor(() => h.jobs.length === 1, 'the first scan', 2_000, 2);
    expect(h.queue.next(123)).toEqual({ delayMs: 123, reason: 'timer' });
    h.finish();
    await new Promise((r) => setTimeout(r, 30));
    expect(h.jobs).toHaveLength(1);
    h.queue.request('rescan');
    await waitFor(() => h.jobs.length === 2, 'the rescan', 2_000, 2);
    expect(h.jobs[1]!.reason).toBe('rescan');
  });

  it('stop() waits for the scan in flight, and nothing starts after it', async () => {
    const h = harness(1); // the next scan on the timer would be due at once
    h.queue.start();
    await waitFor(() => h.jobs.length === 1, 'the first scan', 2_000, 2);
    let stopped = false;
    const stopping = h.queue.stop().then(() => (stopped = true));
    h.queue.request('rescan');
    h.queue.hint(listen(9));
    await new Promise((r) => setTimeout(r, 20));
    expect(stopped).toBe(false);
    h.finish();
    await stopping;
    await new Promise((r) => setTimeout(r, 30));
    expect(h.jobs).toHaveLength(1);
  });
});
