/**
 * A Scanner's owner searches. A scan waits for its own, unless it was told to stop waiting
 * (`yieldTo`: the watcher does when a listener may have appeared and the scan has run past
 * its patience): then that search goes on here while scans go on without it, and its sockets
 * are returned without an owner until it ends. One goes on at a time; while it does, scans
 * wait for their searches (which skip its sockets), so searches never pile up.
 */
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

interface Background {
  inodes: ReadonlySet<number>;
  done: Promise<void>;
}

export class OwnerSearches {
  private background: Background | null = null;

  /** `found`: applies what a search found (the holders of each inode it could find). */
  constructor(
    readonly owners: OwnerSearch,
    private readonly found: (holders: Map<number, number[]>) => void,
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
