/**
 * A Scanner's owner searches (src/owner-searches.ts): a search that runs past `yieldTo` goes
 * on without its scan, one at a time; later scans skip its sockets and wait for their own.
 * The owner search itself is a stand-in here whose looks end when the test says; the real
 * one is in test/watch/late-owners.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { performance } from 'node:perf_hooks';
import { OwnerSearches, WALK_HOLD_MS, type OwnerSearch } from '../src/owner-searches.js';

interface Look {
  inodes: number[];
  end: (found: Map<number, number[]>) => void;
  fail: (e: Error) => void;
}

/** Sockets the stand-in says no walk could find (skipped until their retry). */
const deferred = new Set<number>();

function standIn(): { search: OwnerSearches; looks: Look[]; found: Map<number, number[]>[]; holds: number[] } {
  const looks: Look[] = [];
  const found: Map<number, number[]>[] = [];
  const holds: number[] = [];
  const owners: OwnerSearch = {
    stats: { walks: 0, newProcessLooks: 0, likelyLooks: 0, recentLooks: 0, readlinks: 0 },
    nextRetryAt: () => null,
    forget: () => {},
    deferred: (inode) => deferred.has(inode),
    resolve: (inodes) =>
      new Promise((end, fail) => {
        looks.push({ inodes: [...inodes], end, fail });
      }),
  };
  const search = new OwnerSearches(
    owners,
    (holders) => found.push(holders),
    (ms) => holds.push(ms),
  );
  return { search, looks, found, holds };
}

const settled = async (p: Promise<unknown>): Promise<boolean> => {
  let done = false;
  void p.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((resolve) => setImmediate(resolve));
  return done;
};

describe('OwnerSearches', () => {
  it('waits for a search nobody hurries, and applies what it found', async () => {
    const { search, looks, found } = standIn();
    const scan = search.search([1, 2], {});
    expect(await settled(scan)).toBe(false);
    looks[0]!.end(new Map([[1, [10]]]));
    await scan;
    expect(found).toEqual([new Map([[1, [10]]])]);
    expect(search.pending()).toBeNull();
  });

  it('stops waiting at yieldTo; the search goes on, one at a time, and later scans skip its sockets', async () => {
    const { search, looks, found } = standIn();
    let hurry!: () => void;
    const yieldTo = new Promise<void>((resolve) => (hurry = resolve));
    const first = search.search([1, 2], {}, yieldTo);
    hurry();
    await first; // returned without its owners
    expect(found).toEqual([]);
    const going = search.pending();
    expect(going).not.toBeNull();
    expect(search.pendingAmong([1, 2, 3])).toBe(2);

    // While it goes on: a scan looks only for what is new, and waits for it even when hurried.
    const second = search.search([1, 2, 3], {}, Promise.resolve());
    expect(looks.map((l) => l.inodes)).toEqual([[1, 2], [3]]);
    expect(await settled(second)).toBe(false);
    looks[1]!.end(new Map([[3, [30]]]));
    await second;

    looks[0]!.end(new Map([[1, [10]]]));
    await going;
    expect(found).toEqual([new Map([[3, [30]]]), new Map([[1, [10]]])]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(search.pending()).toBeNull();
    expect(search.pendingAmong([1, 2])).toBe(0);
  });

  it('holds the walk of a search it stops waiting for, until a scan that started after it has ended', async () => {
    const { search, looks, holds } = standIn();
    const waited = search.search([1], {});
    looks[0]!.end(new Map());
    await waited;
    expect(holds).toEqual([]); // a search waited for to its end holds nothing

    const before = performance.now();
    await search.search([2], {}, Promise.resolve());
    expect(holds).toEqual([WALK_HOLD_MS]);
    search.scanEnded(before); // the scan that stopped waiting: started before the hold
    await new Promise((resolve) => setImmediate(resolve));
    expect(holds).toEqual([WALK_HOLD_MS]);
    search.scanEnded(performance.now()); // the next scan (the new listener's)
    expect(holds).toEqual([WALK_HOLD_MS]); // not before what that scan reports has gone out
    await new Promise((resolve) => setImmediate(resolve));
    expect(holds).toEqual([WALK_HOLD_MS, 0]);
    search.scanEnded(performance.now());
    search.release();
    await new Promise((resolve) => setImmediate(resolve));
    expect(holds).toEqual([WALK_HOLD_MS, 0]); // released once

    looks[1]!.end(new Map());
    await search.pending();
    await search.search([3], {}, Promise.resolve());
    search.release(); // the scanner closes
    expect(holds).toEqual([WALK_HOLD_MS, 0, WALK_HOLD_MS, 0]);
  });

  it('counts as pending only what the search looks for, not sockets no walk could find', async () => {
    const { search, looks } = standIn();
    deferred.add(7);
    try {
      await search.search([6, 7], {}, Promise.resolve());
      expect(search.pendingAmong([6, 7])).toBe(1);
      looks[0]!.end(new Map());
      await search.pending();
    } finally {
      deferred.delete(7);
    }
  });

  it('a search that fails after its scan stopped waiting ends quietly; one waited for rejects', async () => {
    const { search, looks } = standIn();
    await search.search([1], {}, Promise.resolve());
    const going = search.pending();
    looks[0]!.fail(new Error('no /proc'));
    await expect(going).resolves.toBeUndefined();
    const waited = search.search([2], {});
    looks[1]!.fail(new Error('no /proc'));
    await expect(waited).rejects.toThrow('no /proc');
  });
});
