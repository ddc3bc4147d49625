import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, type TestContext } from 'vitest';

/**
 * The change poller's interval policy (native/poll-pace.c), driven on simulated time by
 * test/native/poll-pace-sim.c as native/poll-thread.c drives it. Every scenario runs 60 s
 * (the credit floor 100 s) at a 0.3 % budget.
 */
const BUDGET = 0.003;
const DURATION_MS = 60_000;
const CHANGE_BUDGET = 0.05; // poll-pace.c: what looks that find a change may spend

interface SimResult {
  name: string;
  looks: number; // whole looks, the first (at start) included
  unmoved: number; // looks with the counts unmoved since the last: the two-interval (or max_ms) looks
  changes: number; // listener changes made
  late: number; // changes not looked at on the first wake after them
  wakes: number;
  cpu: number; // looks' CPU over the run, as a share of a core
  intervalAfterFirst: number;
  countingAfterFirst: boolean;
  intervalMs: number;
  credit: number;
  minCredit: number;
  cheapAtMs: number; // credit-floor: when the cheap table's price set the interval
  recoverMs: number; // credit-floor: from then until the poller had a look's credit again
}

let dir: string | undefined;
let binary: string | undefined;
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function skipWith(ctx: TestContext, reason: string): never {
  console.warn(`skipped "${ctx.task.name}": ${reason}`);
  return ctx.skip(reason);
}

function requireSim(ctx: TestContext): string {
  if (binary) return binary;
  const compiler = ['cc', 'gcc'].find((c) => spawnSync(c, ['--version'], { stdio: 'ignore' }).status === 0);
  if (!compiler) {
    const reason = 'no C compiler (cc or gcc) on PATH to build test/native/poll-pace-sim.c';
    // CI has one and sets this: there a missing compiler fails instead of skipping.
    if (process.env.PORTWATCH_REQUIRE_NATIVE === '1') throw new Error(reason);
    return skipWith(ctx, reason);
  }
  dir ??= mkdtempSync(join(tmpdir(), 'portwatch-poll-pace-'));
  const out = join(dir, 'poll-pace-sim');
  const source = (path: string): string => fileURLToPath(new URL(path, import.meta.url));
  execFileSync(compiler, [
    '-O1',
    '-Wall',
    '-Werror',
    '-std=c11',
    '-o',
    out,
    source('poll-pace-sim.c'),
    source('../../native/poll-pace.c'),
    '-lm',
  ]);
  return (binary = out);
}

function simulate(ctx: TestContext, scenario: string): SimResult {
  const stdout = execFileSync(requireSim(ctx), [scenario], { encoding: 'utf8' });
  const result = JSON.parse(stdout) as SimResult;
  expect(result.name).toBe(scenario);
  return result;
}

describe('poll-pace: when the change poller looks', () => {
  it('a big table whose counts stand still is looked at every two intervals, within its budget', (ctx) => {
    const r = simulate(ctx, 'big-table'); // 2 ms a look, [100, 5000] ms
    expect(r.intervalAfterFirst).toBe(Math.floor(2 / BUDGET)); // 666 ms: the price spent at the budget
    expect(r.countingAfterFirst).toBe(true);
    // Nothing moves: a look once 2 × 666 ms have passed, i.e. on the 14th wake after the last look
    // ended (14 × 100 + 2 ms), so 1 + floor((60000 - 2) / 1402) = 43 looks, all but the first unmoved.
    expect(r.looks).toBe(43);
    expect(r.unmoved).toBe(r.looks - 1);
    expect(r.cpu).toBeCloseTo((43 * 2) / DURATION_MS, 6);
    expect(r.cpu).toBeLessThanOrEqual(BUDGET / 2);
  });

  it('every listener change is looked at on the first wake after it: credit does not throttle them', (ctx) => {
    // 5 ms a look (an interval of 1666 ms) and a change every second: looks that found nothing
    // would have credit for one look every 1.67 s, not every second.
    const r = simulate(ctx, 'listener-change');
    expect(r.changes).toBe(59); // at 1.05 s, 2.05 s, … 59.05 s
    expect(r.late).toBe(0);
    expect(r.looks).toBe(1 + r.changes + r.unmoved);
    expect(r.cpu).toBeGreaterThan(BUDGET); // paid by the changes, not by the budget
    expect(r.cpu).toBeLessThanOrEqual(CHANGE_BUDGET);
  });

  it('connection churn that moves the counts on every wake is held to about a look per interval', (ctx) => {
    const r = simulate(ctx, 'churn'); // 2 ms a look, counts move on all ~600 wakes, looks find nothing
    expect(r.wakes).toBeGreaterThan(590);
    // The first look, the starting credit's second look, then one per 666.7 ms the budget accrues.
    expect(r.looks).toBeLessThanOrEqual(2 + Math.ceil((DURATION_MS * BUDGET) / 2));
    expect(r.cpu).toBeLessThanOrEqual(2 * BUDGET);
    expect(r.minCredit).toBeGreaterThanOrEqual(0); // credit-funded: never borrowed
  });

  it('a change storm on a dear table spends about 5 % of a core, not a look per wake', (ctx) => {
    const r = simulate(ctx, 'storm'); // 20 ms a look, 10 ms min interval, every look finds a change
    expect(r.intervalAfterFirst).toBe(5000); // 20 / 0.003 = 6667 ms, held to max
    expect(r.wakes).toBeGreaterThan(5000);
    // A change costs 0.003 / 0.05 = 0.06 of a look's credit, which accrues at 0.003 / 20 ms a ms:
    // a look every 400 ms, 20 / 400 = 5 %.
    expect(r.cpu).toBeLessThanOrEqual(0.06);
    expect(r.cpu).toBeGreaterThanOrEqual(0.04);
  });

  it('changes in bursts (a close, then a listen() 60 ms later) are each looked at: after a change the counts are read every 25 ms', (ctx) => {
    // Six changes 60 ms apart every 2 s. Read every 100 ms, a close and the next listen() would
    // often fall between the same two reads and net out; read every 25 ms for a second after a
    // look that found a change, each is seen on the first wake after it.
    const r = simulate(ctx, 'bursts');
    expect(r.changes).toBe(29 * 6); // bursts at 2.05 s, 4.05 s, … 58.05 s
    expect(r.late).toBe(0);
    expect(r.cpu).toBeLessThanOrEqual(CHANGE_BUDGET);
  });

  it('after a dear spell the debt is at most one look, so a cheap table recovers within a few intervals', (ctx) => {
    // 60 ms a look (20 s at the budget, held to 5 s: each look borrows) for 40 s, then 2 ms.
    const r = simulate(ctx, 'credit-floor');
    expect(r.minCredit).toBeLessThanOrEqual(-0.99); // it did go into debt …
    expect(r.minCredit).toBeGreaterThanOrEqual(-1); // … never below one look
    expect(r.cheapAtMs).toBeGreaterThan(40_000);
    expect(r.intervalMs).toBe(Math.floor(2 / BUDGET));
    // From -1 at 0.15 looks a 100 ms wake: a look's credit again after 1.4 s, 2 intervals and a wake.
    expect(r.recoverMs).toBeGreaterThan(0);
    expect(r.recoverMs).toBeLessThanOrEqual(3 * r.intervalMs);
  });
});
