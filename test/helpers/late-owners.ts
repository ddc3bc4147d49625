/**
 * For tests of owners found after their listener: the real owner search made slower on
 * purpose (its first look held until the test lets it go, or every look delayed: a walk over
 * a busy host's fds, on demand), a way to build a watcher that uses it, and a trigger the
 * test fires by hand, as the kernel would.
 */
import { useOwnerSearch, type OwnerSearch } from '../../src/owner-searches.js';
import { SocketOwners } from '../../src/owners/socket-owners.js';
import type { Trigger, TriggerSubscriber } from '../../src/triggers/trigger.js';

/** The real owner search, each look made to wait first for `before(first)`. */
function slowed(before: (first: boolean) => Promise<void>): OwnerSearch {
  const real = new SocketOwners();
  let first = true;
  return {
    stats: real.stats,
    nextRetryAt: () => real.nextRetryAt(),
    forget: (isLive) => real.forget(isLive),
    deferred: (inode) => real.deferred(inode),
    resolve: async (inodes, options) => {
      const wanted = [...inodes];
      const wasFirst = first;
      first = false;
      await before(wasFirst);
      return real.resolve(wanted, options);
    },
  };
}

/** The real owner search, its first look held until release(). */
export function heldFirstSearch(): { owners: OwnerSearch; release: () => void; started: Promise<void> } {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let markStarted!: () => void;
  const started = new Promise<void>((resolve) => (markStarted = resolve));
  const owners = slowed((first) => {
    if (!first) return Promise.resolve();
    markStarted();
    return gate;
  });
  return { owners, release, started };
}

/** The real owner search, every look `ms` later. */
export function delayedSearch(ms: number): OwnerSearch {
  return slowed(() => new Promise((resolve) => setTimeout(resolve, ms)));
}

/**
 * What `make` builds (a watcher, a server, an engine: synchronously or by a promise) searches
 * for owners with `owners`; Scanners made after it do not.
 */
export function withOwnerSearch<T>(owners: OwnerSearch, make: () => T): T {
  const restore = useOwnerSearch(() => owners);
  let made: T;
  try {
    made = make();
  } catch (e) {
    restore();
    throw e;
  }
  if (made instanceof Promise) return made.finally(restore) as T;
  restore();
  return made;
}

/** A trigger the test fires by hand, as the kernel would. */
export function handTrigger(): { trigger: Trigger; hint: TriggerSubscriber['hint'] } {
  let subscriber: TriggerSubscriber | null = null;
  const trigger: Trigger = {
    name: 'hand',
    safetyNetMs: 60_000,
    subscribe: (s) => {
      subscriber = s;
      return () => Promise.resolve();
    },
  };
  return { trigger, hint: (h) => subscriber?.hint(h) };
}
