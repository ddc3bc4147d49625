/**
 * patience() (watch/late-owners.ts): when a scan stops waiting for its owner search. It waits
 * for the hint, then for the rest of the scan's patience; once that has passed, it settles in
 * the same turn (a timer would add its 1 ms floor to a listener's report).
 */
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { patience } from '../../src/watch/late-owners.js';

/** What settles first: `p`, or a setImmediate queued now (which runs before any timer's callback of this turn). */
async function beatsImmediate(p: Promise<void>): Promise<boolean> {
  let immediate = false;
  setImmediate(() => (immediate = true));
  await p;
  return !immediate;
}

describe('patience', () => {
  it('settles in the same turn once the scan has run past its patience', async () => {
    expect(await beatsImmediate(patience(Promise.resolve(), performance.now() - 50, 20))).toBe(true);
  });

  it('waits for the rest of the patience when the hint comes early', async () => {
    const from = performance.now();
    await patience(Promise.resolve(), from, 30);
    expect(performance.now() - from).toBeGreaterThanOrEqual(29);
  });

  it('never settles without the hint', async () => {
    let settled = false;
    void patience(new Promise<void>(() => {}), performance.now() - 50, 0).then(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(settled).toBe(false);
  });
});
