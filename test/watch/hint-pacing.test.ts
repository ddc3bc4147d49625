/**
 * The pacing of hinted scans, on recorded costs and a simulated clock: a burst at once after
 * a quiet moment, then one scan per gap, the gap priced on cost over budget within bounds.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_HINT_PACING, HintPacer, type HintPacingPolicy } from '../../src/watch/hint-pacing.js';

const POLICY: HintPacingPolicy = { budget: 0.05, minGapMs: 10, maxGapMs: 25, burst: 3 };

/** Scans started when hints arrive every `everyMs` for `forMs`, each costing `costMs`: their start times. */
function simulate(pacer: HintPacer, everyMs: number, forMs: number, costMs: number, startMs = 1_000): number[] {
  const starts: number[] = [];
  let due: number | null = null;
  for (let t = startMs; t < startMs + forMs; t += 0.5) {
    if (due === null && (t - startMs) % everyMs < 0.5) due = t + pacer.delayMs(t); // a hint: a scan is due
    if (due !== null && t >= due) {
      pacer.started(t);
      pacer.record(costMs);
      starts.push(t);
      due = null;
    }
  }
  return starts;
}

describe('HintPacer', () => {
  it('after a quiet moment, a burst of scans starts at once (bind, then listen)', () => {
    const pacer = new HintPacer(POLICY);
    for (let i = 0; i < POLICY.burst; i++) {
      expect(pacer.delayMs(100 + i * 0.1)).toBe(0);
      pacer.started(100 + i * 0.1);
      pacer.record(1);
    }
    expect(pacer.delayMs(100.5)).toBeGreaterThan(0);
    // Quiet again for a few gaps: at once again.
    expect(pacer.delayMs(100 + 4 * POLICY.maxGapMs)).toBe(0);
  });

  it('the gap is the median recent cost over the budget, within its bounds', () => {
    const pacer = new HintPacer(POLICY);
    expect(pacer.gapMs()).toBe(POLICY.minGapMs);
    for (const cost of [0.6, 0.6, 0.6]) pacer.record(cost);
    expect(pacer.gapMs()).toBeCloseTo(12);
    for (const cost of [5, 5, 5]) pacer.record(cost);
    expect(pacer.gapMs()).toBe(POLICY.maxGapMs);
    pacer.record(50_000); // one walk of a busy host does not move the median
    expect(pacer.gapMs()).toBe(POLICY.maxGapMs);
    for (const cost of [0, 0, 0, 0, 0]) pacer.record(cost);
    expect(pacer.gapMs()).toBe(POLICY.minGapMs);
  });

  it('under a steady stream of hints, scans/s are bounded by the gap whatever the event rate', () => {
    for (const [everyMs, costMs] of [
      [1, 0.1],
      [2, 3],
      [0.5, 10],
    ] as const) {
      const pacer = new HintPacer(POLICY);
      const starts = simulate(pacer, everyMs, 10_000, costMs);
      const gap = pacer.gapMs();
      expect(starts.length).toBeLessThanOrEqual(10_000 / gap + POLICY.burst + 1);
      // …and never more than the longest gap between two scans while hints come.
      for (let i = 1; i < starts.length; i++)
        expect((starts[i] as number) - (starts[i - 1] as number)).toBeLessThanOrEqual(POLICY.maxGapMs + 1);
    }
  });

  it('never asks to wait longer than the longest gap, nor a negative time', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ dt: fc.double({ min: 0, max: 100, noNaN: true }), cost: fc.double({ min: 0, max: 1e6, noNaN: true }) }), {
          maxLength: 50,
        }),
        (steps) => {
          const pacer = new HintPacer();
          let t = 0;
          for (const { dt, cost } of steps) {
            t += dt;
            const d = pacer.delayMs(t);
            expect(d).toBeGreaterThanOrEqual(0);
            expect(d).toBeLessThanOrEqual(DEFAULT_HINT_PACING.maxGapMs);
            pacer.started(t);
            pacer.record(cost);
          }
        },
      ),
    );
  });

  it('a cost that is no number is ignored', () => {
    const pacer = new HintPacer(POLICY);
    pacer.record(Number.NaN);
    pacer.record(-1);
    expect(pacer.gapMs()).toBe(POLICY.minGapMs);
  });
});
