/**
 * The poll trigger when the source can look for changes off the main thread (sock_diag's
 * native poller): the same interval policy, priced on the poller's own CPU, but a quiet look
 * never wakes Node. The watcher scans when the poller says the table changed; its own timer
 * runs at the policy's ceiling (5 s by default) only after a scan that failed or for a
 * --netns-pid target that may exit, looks again for owners not found yet as their back-off
 * says, and otherwise scans once a minute as a check (watch/timer-delay.ts).
 */
import type { ChangePolicy, ChangeWatch, ScanTarget, Source } from '../sources/source.js';
import type { Trigger, TriggerSubscriber } from './trigger.js';

/** A poll trigger backed by `source`'s change watch, or null when the source has none. */
export function changeTrigger(source: Source, target: ScanTarget, policy: ChangePolicy): Trigger | null {
  const watchChanges = source.watchChanges?.bind(source);
  if (watchChanges === undefined) return null;
  let watch: ChangeWatch | null = null;
  return {
    name: 'poll',
    safetyNetMs: policy.maxMs,
    ownsInterval: true,
    stats: () => watch?.stats() ?? { running: false },
    subscribe(subscriber: TriggerSubscriber): () => Promise<void> {
      const started = watchChanges(
        target,
        policy,
        () => subscriber.hint({ kind: 'changed' }),
        (error) => subscriber.failed(error),
      );
      if (started === null) throw new Error(`source '${source.name}' cannot watch for changes here`);
      watch = started;
      return () => {
        started.stop();
        return Promise.resolve();
      };
    },
  };
}
