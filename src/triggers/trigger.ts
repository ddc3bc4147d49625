/**
 * A trigger tells the watcher *when* to look; a source says *what* is listening. A hint
 * never reports a port by itself: it only asks for a scan, and the socket table stays the
 * truth (the same rule `run`'s URL hints follow). Kernel events name no network namespace
 * and no socket inode, and their addresses can differ from the bound ones, so they could
 * not be trusted as reports anyway.
 *
 * A trigger is a subscription point rather than a per-watcher object, so one engine (or
 * several watchers) can share one kernel resource: every subscriber gets every hint.
 */
import type { ChangeWatchStats } from '../sources/source.js';

export type TriggerName = 'tracefs' | 'poll';
export type TriggerChoice = TriggerName | 'auto';
export const TRIGGER_CHOICES: readonly TriggerChoice[] = ['auto', 'tracefs', 'poll'];

/**
 * What the kernel said: a TCP socket entered LISTEN, a listener closed, a bind() succeeded
 * (the only sign of a new UDP socket), or events were lost (rescan everything); or, polling
 * off the main thread, that the socket table changed.
 */
export type HintKind = 'listen' | 'unlisten' | 'bind' | 'lost' | 'changed';

export interface Hint {
  kind: HintKind;
  /** The local port, when the event names one (TCP state changes do; bind exits do not). */
  port?: number;
  /** The thread that caused it (the process id for a single-threaded process); absent when unknown. */
  tid?: number;
}

export interface TriggerSubscriber {
  hint(hint: Hint): void;
  /** The trigger stopped for good (e.g. its tracefs instance was removed); polling must take over. */
  failed(error: Error): void;
}

export interface Trigger {
  /** 'tracefs', 'poll', or the name of a trigger of your own. */
  readonly name: string;
  /**
   * While subscribed, scans on the timer are only a safety net for what the trigger cannot
   * see (UDP closes, sendto() auto-binds): at most this often, in ms (the watcher's
   * ceiling still wins). Null when the timer is the only trigger.
   */
  readonly safetyNetMs: number | null;
  /**
   * The trigger itself looks on the watcher's interval policy (polling off the main thread):
   * the watcher's own timer then runs only at the safety-net pace, whatever the policy says.
   */
  readonly ownsInterval?: boolean;
  /** What a trigger that looks by itself has done so far (debug logs, /healthz). */
  stats?(): ChangeWatchStats;
  /**
   * Starts delivering hints. Throws PortwatchError when the trigger cannot work here. The
   * returned function ends the subscription; it resolves once what the subscription held
   * is released (for tracefs: the last one removes the instance).
   */
  subscribe(subscriber: TriggerSubscriber): () => Promise<void>;
}
