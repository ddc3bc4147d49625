/**
 * A wait's deadline. When it comes, one last scan is asked for before the timeout is reported:
 * with a long interval (`--interval 10s`), or a poller's slow pace over a big table, the last
 * scan may be seconds old and the port listening since. That look is bounded: a scan stuck
 * behind a cold /proc walk on a busy host holds the answer LAST_LOOK_MS at most.
 */
import type { PortWatcher } from './watch/watcher.js';

export const LAST_LOOK_MS = 250;

/**
 * Arms the deadline: after `timeoutMs`, a rescan; once it has ticked (or LAST_LOOK_MS passed),
 * `settle()` evaluates what the watcher sees and says whether the wait is over; if not,
 * `timedOut()` reports it. Returns a way to disarm it (call it once the wait settles).
 */
export function armDeadline(
  watcher: Pick<PortWatcher, 'on' | 'off' | 'rescan'>,
  timeoutMs: number,
  settle: () => boolean,
  timedOut: () => void,
): () => void {
  let lastLook: NodeJS.Timeout | undefined;
  let looked = false;
  const last = (): void => {
    if (looked) return;
    looked = true;
    clearTimeout(lastLook);
    watcher.off('tick', last);
    if (!settle()) timedOut();
  };
  const timer = setTimeout(() => {
    lastLook = setTimeout(last, LAST_LOOK_MS);
    watcher.on('tick', last);
    watcher.rescan();
  }, timeoutMs);
  return () => {
    clearTimeout(timer);
    clearTimeout(lastLook);
    watcher.off('tick', last);
  };
}
