/**
 * For tests of owners found after their listener: the real owner search with its first look
 * held until the test lets it go (a first walk over a busy host's fds, on demand), and a
 * trigger the test fires by hand, as the kernel would.
 */
import type { OwnerSearch } from '../../src/owner-searches.js';
import { SocketOwners } from '../../src/owners/socket-owners.js';
import type { Trigger, TriggerSubscriber } from '../../src/triggers/trigger.js';

/** The real owner search, its first look held until release(). */
export function heldFirstSearch(): { owners: OwnerSearch; release: () => void; started: Promise<void> } {
  const real = new SocketOwners();
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let markStarted!: () => void;
  const started = new Promise<void>((resolve) => (markStarted = resolve));
  let first = true;
  const owners: OwnerSearch = {
    stats: real.stats,
    nextRetryAt: () => real.nextRetryAt(),
    forget: (isLive) => real.forget(isLive),
    deferred: (inode) => real.deferred(inode),
    resolve: async (inodes, options) => {
      if (!first) return real.resolve(inodes, options);
      first = false;
      const wanted = [...inodes];
      markStarted();
      await gate;
      return real.resolve(wanted, options);
    },
  };
  return { owners, release, started };
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
