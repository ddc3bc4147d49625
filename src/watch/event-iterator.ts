/**
 * The watcher's `for await` side: each iterator queues the events delivered to it and ends
 * when the watcher closes (null) or the loop breaks.
 */
import type { PortEvent } from '../listener.js';

export interface EventSink {
  push(event: PortEvent | null): void;
}

/** An iterator fed through a sink; `sinks` holds it while it is live. */
export function eventIterator(sinks: Set<EventSink>, closed: boolean): AsyncIterator<PortEvent> {
  const queue: PortEvent[] = [];
  let wake: (() => void) | null = null;
  let done = closed;
  const sink: EventSink = {
    push: (e) => {
      if (e === null) done = true;
      else queue.push(e);
      wake?.();
      wake = null;
    },
  };
  sinks.add(sink);
  const finish = (): IteratorReturnResult<undefined> => {
    sinks.delete(sink);
    done = true;
    return { done: true, value: undefined };
  };
  return {
    next: async (): Promise<IteratorResult<PortEvent>> => {
      for (;;) {
        const e = queue.shift();
        if (e) return { done: false, value: e };
        if (done) return finish();
        await new Promise<void>((r) => (wake = r));
      }
    },
    return: async () => finish(),
  };
}
