/**
 * A Scanner's owner searches. A scan waits for its own, unless it was told to stop waiting
 * (`yieldTo`: the watcher does when a listener may have appeared and the scan has run past
 * its patience): then that search goes on here while scans go on without it, and its sockets
 * are returned without an owner until it ends. One goes on at a time; while it does, scans
 * wait for their searches (which skip its sockets), so searches never pile up.
 */
import { performance } from 'node:perf_hooks';
import { holdWalks } from './owners/native-walk.js';
import { SocketOwners, type ResolveOptions } from './owners/socket-owners.js';

/** What a Scanner needs of the owner search (socket-owners.ts). */
export type OwnerSearch = Pick<SocketOwners, 'resolve' | 'nextRetryAt' | 'forget' | 'stats' | 'deferred'>;

let makeOwnerSearch: () => OwnerSearch = () => new SocketOwners();

/** A new Scanner's owner search: socket-owners.ts, unless a test put another in its place. */
export function newOwnerSearch(): OwnerSearch {
  return makeOwnerSearch();
}

/**
 * For tests: Scanners created until the returned function is called search with what `make`
 * gives (the real search held back, to make "still running" independent of the machine).
 */
export function useOwnerSearch(make: () => OwnerSearch): () => void {
  const before = makeOwnerSearch;
  makeOwnerSearch = make;
  return () => {
    makeOwnerSearch = before;
  };
}

/**
 * How long a search that scans stopped waiting for holds its walk's threads: the scan that
 * reports the listener which appeared meanwhile gets the cores first (on 2 cores the walk
 * otherwise takes both). The next scan to end releases it sooner.
 */
export const WALK_HOLD_MS = 25;

interface Background {
  inodes: ReadonlySet<number>;
  done: Promise<void>;
}

export class OwnerSearches {
  private background: Background | null = null;
  /** When the background search's walk was held (performance.now()), until a scan after it ends. */
  private heldAtMs: number | null = null;

  /**
   * `found`: applies what a search found (the holders of each inode it could find). `hold`:
   * holds the walks running now for ms, or releases them with 0 (native-walk.ts).
   */
  constructor(
    readonly owners: OwnerSearch,
    private readonly found: (holders: Map<number, number[]>) => void,
    private readonly hold: (ms: number) => void = holdWalks,
  ) {}

  /**
   * Looks for the owners of `unknown`, but for those the search that goes on looks for
   * already; stops waiting when `yieldTo` settles first, unless a search goes on already.
   * Rejects as the search does when it is waited for.
   */
  async search(unknown: readonly number[], options: ResolveOptions, yieldTo?: Promise<unknown>): Promise<void> {
    const going = this.background;
    const wanted = going === null ? unknown : unknown.filter((inode) => !going.inodes.has(inode));
    if (wanted.length === 0) return;
    const search = this.owners.resolve(wanted, options).then(this.found);
    if (yieldTo === undefined || going !== null) return search;
    const yielded = await Promise.race([search.then(() => false), yieldTo.then(() => true)]);
    if (!yielded) return;
    // A search that fails leaves its sockets unknown: the next scan looks for them again.
    // What it looks for: not the sockets no walk could find, which it skips until their retry.
    const looked = wanted.filter((inode) => !this.owners.deferred(inode));
    const background: Background = { inodes: new Set(looked), done: search.then(noop, noop) };
    void background.done.then(() => {
      if (this.background === background) this.background = null;
    });
    this.background = background;
    this.hold(WALK_HOLD_MS);
    this.heldAtMs = performance.now();
  }

  /**
   * A scan that started at `startedMs` (performance.now()) has ended: a hold taken before it
   * started is released once what the scan reports has gone out (the scan that a listener's
   * hint asked for starts after the hold; the one that stopped waiting, before).
   */
  scanEnded(startedMs: number): void {
    const at = this.heldAtMs;
    if (at === null || startedMs < at) return;
    this.heldAtMs = null;
    setImmediate(() => this.hold(0));
  }

  /** Releases a hold now (the scanner is closing). */
  release(): void {
    if (this.heldAtMs === null) return;
    this.heldAtMs = null;
    this.hold(0);
  }

  /** Settles when the search that goes on has ended; null when none does. */
  pending(): Promise<void> | null {
    return this.background?.done ?? null;
  }

  /** How many of `inodes` the search that goes on looks for. */
  pendingAmong(inodes: readonly number[]): number {
    const going = this.background;
    return going === null ? 0 : inodes.filter((inode) => going.inodes.has(inode)).length;
  }
}

function noop(): void {}
