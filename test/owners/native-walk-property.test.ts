/**
 * Properties of the native walk: on random /proc-shaped trees (`<pid>/fd/<n>` symlinks,
 * read with getdents64 and readlinkat like /proc; on tmpfs, where thousands are made in
 * milliseconds) with random wanted sets, pid orders and
 * thread counts, it gives the JS walk's answer (fd-reader.ts, the walk it replaces); on the
 * real /proc, random wanted sets and pid lists (gone, negative, repeated pids) never throw.
 */
import fc from 'fast-check';
import { existsSync, mkdirSync, mkdtempSync, opendirSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FdReader, type Hit } from '../../src/owners/fd-reader.js';
import { FdTables } from '../../src/owners/fd-tables.js';
import { nativeWalk, nativeWalkUnavailableReason, walkAllNative, type NativeWalk } from '../../src/owners/native-walk.js';

const why = nativeWalkUnavailableReason();
if (why !== null && process.env.PORTWATCH_REQUIRE_NATIVE === '1') throw new Error(`native walk tests cannot run: ${why}`);
const walker = nativeWalk() as NativeWalk;

const trees: string[] = [];
afterEach(() => removeTrees());

function removeTrees(): void {
  for (const d of trees.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** A directory's names in the order getdents64 gives them (readdirSync sorts them). */
function listingOrder(dir: string): string[] {
  const d = opendirSync(dir);
  const names: string[] = [];
  for (let e = d.readSync(); e !== null; e = d.readSync()) names.push(e.name);
  d.closeSync();
  return names;
}

/** A /proc-shaped tree: `<pid>/fd/<n>` links to `socket:[inode]` (inode 0: a file). */
function shmTree(): { root: string; link(pid: number, fd: number, inode: number): void } {
  const root = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'portwatch-walk-'));
  trees.push(root);
  const made = new Set<number>();
  return {
    root,
    link(pid, fd, inode) {
      if (!made.has(pid)) mkdirSync(join(root, String(pid), 'fd'), { recursive: true });
      made.add(pid);
      symlinkSync(inode === 0 ? '/dev/null' : `socket:[${inode}]`, join(root, String(pid), 'fd', String(fd)));
    },
  };
}

/** The JS walk over every process, as SocketOwners runs it: in order, until nothing is wanted. */
async function jsWalk(root: string, pids: number[], wanted: Set<number>): Promise<{ hits: Map<number, Hit>; looked: number }> {
  const reader = new FdReader(root, new FdTables());
  const hits = new Map<number, Hit>();
  let looked = 0;
  for (const pid of pids) {
    if (wanted.size === 0) break;
    looked++;
    await reader.read(pid, wanted, hits, { track: false, changedOnly: false }, () => false);
  }
  return { hits, looked };
}

/** A tree: per process, its fds' inodes (0: a file). Inodes come from a small pool, so sockets are shared. */
const arbTree = fc.array(fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 12 })), { maxLength: 300 }), {
  minLength: 1,
  maxLength: 24,
});

describe.skipIf(why !== null)('the native walk, by property', () => {
  it('names each wanted socket’s first holder in pid order, as the JS walk does, whatever the threads', async () => {
    await fc.assert(
      fc.asyncProperty(
        arbTree,
        fc.uniqueArray(fc.integer({ min: 1, max: 14 }), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1, max: 8 }),
        fc.nat(),
        async (tree, wantedList, threads, seed) => {
          const proc = shmTree();
          const holds = new Map<number, Map<number, Set<number>>>(); // pid → inode → fds
          tree.forEach((fds, i) => {
            const pid = 100 + i;
            const mine = new Map<number, Set<number>>();
            holds.set(pid, mine);
            fds.forEach((inode, fd) => {
              proc.link(pid, fd, inode);
              if (inode !== 0) mine.set(inode, (mine.get(inode) ?? new Set()).add(fd));
            });
          });
          const pids = [...holds.keys(), 999_999]; // one gone
          for (let i = pids.length - 1; i > 0; i--) {
            const j = (seed + i * 7919) % (i + 1);
            [pids[i], pids[j]] = [pids[j] as number, pids[i] as number];
          }
          const js = await jsWalk(proc.root, pids, new Set(wantedList));
          const wanted = new Set(wantedList);
          const hits = new Map<number, Hit>();
          const withThreads: NativeWalk = (root, p, w, _t, known) => walker(root, p, w, threads, known);
          const native = await walkAllNative(withThreads, proc.root, pids, wanted, hits, new FdTables());
          expect([...hits.keys()].sort()).toEqual([...js.hits.keys()].sort());
          expect([...wanted].sort()).toEqual(wantedList.filter((i) => !js.hits.has(i)).sort());
          for (const [inode, hit] of hits) {
            expect(hit.pid).toBe(js.hits.get(inode)?.pid);
            // The fd: one where that process holds it (a dup may be read first in another order).
            expect(holds.get(hit.pid)?.get(inode)?.has(Number(hit.fd))).toBe(true);
            for (const pid of js.hits.get(inode)?.also ?? []) expect(hit.also).toContain(pid);
            for (const pid of hit.also) expect(holds.get(pid)?.has(inode)).toBe(true);
          }
          if (threads === 1) expect(native.claimed).toBe(js.looked);
          else expect(native.claimed).toBeGreaterThanOrEqual(js.looked);
          removeTrees();
        },
      ),
      { numRuns: 60 },
    );
  });

  it('a holder a helper thread finds first is not the answer when an earlier process holds it too', async () => {
    // Process 0 is long (its socket is its last fd): the calling thread is still reading it
    // when the helpers, started after 512 fds, find the socket in process 5.
    const proc = shmTree();
    proc.link(100, 20_000, 42); // tmpfs lists the newest first: this one last
    for (let fd = 0; fd < 20_000; fd++) proc.link(100, fd, 0);
    const late = listingOrder(join(proc.root, '100', 'fd')).indexOf('20000') > 10_000;
    for (let pid = 101; pid <= 110; pid++) proc.link(pid, 0, 0);
    proc.link(105, 1, 42);
    const pids = Array.from({ length: 11 }, (_, i) => 100 + i);
    let raced = false;
    for (let attempt = 0; attempt < 3 && !raced; attempt++) {
      const wanted = new Set([42]);
      const hits = new Map<number, Hit>();
      const fourThreads: NativeWalk = (root, p, w, _t, known) => walker(root, p, w, 4, known);
      const r = await walkAllNative(fourThreads, proc.root, pids, wanted, hits, new FdTables());
      expect(hits.get(42)).toMatchObject({ pid: 100, fd: '20000' });
      expect(r.readlinks).toBeGreaterThan(20_000);
      raced = hits.get(42)?.also.includes(105) === true;
    }
    if (late) expect(raced).toBe(true); // else the race was not set up (a file system listing it early)
  });

  it('never throws on the real /proc, whatever it is asked', async () => {
    const real = readdirSync('/proc')
      .filter((n) => /^\d+$/.test(n))
      .map(Number);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.constantFrom(...real), fc.integer({ min: -5, max: 4_194_304 })), { maxLength: 60 }),
        fc.array(fc.oneof(fc.nat(), fc.maxSafeNat()), { maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 5 }),
        fc.integer({ min: -2, max: 20 }),
        async (pids, wanted, known, threads) => {
          const r = await walker('/proc', Int32Array.from(pids), Float64Array.from(wanted), threads, Float64Array.from(known));
          expect(r.claimed).toBeGreaterThanOrEqual(0);
          expect(r.claimed).toBeLessThanOrEqual(pids.length);
          const asked = new Set([...wanted, ...known]);
          for (let i = 0; i < r.inodes.length; i++) {
            expect(asked.has(r.inodes[i] as number)).toBe(true);
            expect(r.indexes[i]).toBeLessThan(r.claimed);
            expect(r.fds[i]).toBeGreaterThanOrEqual(0);
          }
          if (wanted.length === 0) expect(r.claimed).toBe(0);
        },
      ),
      { numRuns: 40 },
    );
  });
});
