/**
 * Holding the native walks that run now (native/fd-walk-hold.c through holdWalks in
 * owners/native-walk.ts), on a /proc-shaped directory big enough that a walk cannot end
 * between two JavaScript statements: a walk queued before a hold sleeps (without spinning)
 * until the release, or until the hold's deadline; a walk queued after it runs on; the answer
 * is the same as without a hold.
 */
import { performance } from 'node:perf_hooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { holdWalks, nativeWalk, nativeWalkUnavailableReason, type NativeWalk } from '../../src/owners/native-walk.js';
import { loadSockDiagAddon } from '../../src/sources/sock-diag-addon.js';
import { fakeProc, removeFakeProcs, type FakeProc } from './fake-proc.js';

const why = nativeWalkUnavailableReason();
if (why !== null && process.env.PORTWATCH_REQUIRE_NATIVE === '1') throw new Error(`walk hold tests cannot run: ${why}`);

const PIDS = [400, 300, 200, 100];
const FDS_EACH = 4_000;
const WANTED = 987_654;

let proc: FakeProc;
let walker: NativeWalk;

beforeAll(() => {
  if (why !== null) return;
  walker = nativeWalk() as NativeWalk;
  proc = fakeProc();
  // Every process full of files; the wanted socket is the last fd of the last process, so a walk reads them all.
  for (const pid of PIDS) for (let fd = 0; fd < FDS_EACH; fd++) proc.file(pid, fd);
  proc.hold(100, FDS_EACH, WANTED);
}, 120_000);

afterEach(() => holdWalks(0));
afterAll(removeFakeProcs);

const walk = (): Promise<Awaited<ReturnType<NativeWalk>>> => walker(proc.root, Int32Array.from(PIDS), Float64Array.of(WANTED), 2);

/** Whether `p` has settled, after `ms` more. */
async function settledAfter(p: Promise<unknown>, ms: number): Promise<boolean> {
  let done = false;
  void p.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((resolve) => setTimeout(resolve, ms));
  return done;
}

function expectFound(r: Awaited<ReturnType<NativeWalk>>): void {
  expect(Array.from(r.inodes)).toEqual([WANTED]);
  expect(PIDS[r.indexes[0] as number]).toBe(100);
  expect(r.fds[0]).toBe(FDS_EACH);
  expect(r.claimed).toBe(PIDS.length);
}

describe.skipIf(why !== null)(`holding native walks${why === null ? '' : ` (skipped: ${why})`}`, () => {
  it('a walk running when the hold comes sleeps, without spinning, until it is released; then it ends as usual', async () => {
    const unheld = await walk();
    expectFound(unheld);

    const cpuBefore = process.cpuUsage();
    const going = walk();
    holdWalks(1_000); // queued a statement ago: 16,000 readlinks cannot be done yet
    expect(await settledAfter(going, 300)).toBe(false);
    const cpu = process.cpuUsage(cpuBefore);
    // Two sleeping walk threads (a spinning one would burn ~300 ms here), the Node thread idle on a timer.
    expect((cpu.user + cpu.system) / 1000).toBeLessThan(100);
    holdWalks(0);
    const r = await going;
    expectFound(r);
    expect(r.readlinks).toBe(unheld.readlinks);
  });

  it('a walk queued after the hold is not held', async () => {
    holdWalks(1_000);
    const started = performance.now();
    const r = await walk();
    expect(performance.now() - started).toBeLessThan(1_000);
    expectFound(r);
  });

  it('a hold that nobody releases ends at its deadline', async () => {
    const going = walk();
    const held = performance.now();
    holdWalks(150);
    expectFound(await going);
    expect(performance.now() - held).toBeGreaterThanOrEqual(140);
  });

  it('a shorter hold replaces a longer one at once: held threads look again', async () => {
    const going = walk();
    const held = performance.now();
    holdWalks(1_000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    holdWalks(100); // from now: ends ~150 ms after the first hold, not at its 1 s
    expectFound(await going);
    expect(performance.now() - held).toBeLessThan(900);
  });

  it('refuses a hold that is not a number, in one TypeError', () => {
    const hold = (loadSockDiagAddon() as unknown as { fdWalkHold: (...args: unknown[]) => void }).fdWalkHold;
    expect(() => hold('10')).toThrow(TypeError);
    expect(() => hold(Number.NaN)).toThrow('ms must be a number');
    expect(() => hold()).toThrow(TypeError);
    hold(-5); // a release
  });
});
