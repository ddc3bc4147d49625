/**
 * Runs HTTP probes a few at a time, off the watcher's path: one task per listener key, a
 * task whose listener closed before it ran is dropped, and close() aborts what runs.
 */

export type ProbeTask = (signal: AbortSignal) => Promise<void>;

export class ProbeQueue {
  private readonly pending = new Map<string, ProbeTask>();
  private readonly running = new Map<string, AbortController>();
  private closed = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly concurrency = 4) {}

  get size(): number {
    return this.pending.size + this.running.size;
  }

  /** Queues a task for `key` unless one is already queued or running. */
  add(key: string, task: ProbeTask): void {
    if (this.closed || this.pending.has(key) || this.running.has(key)) return;
    this.pending.set(key, task);
    this.pump();
  }

  /** Drops the queued task for `key`, or aborts it if it runs. */
  cancel(key: string): void {
    this.pending.delete(key);
    this.running.get(key)?.abort();
    this.settleIfIdle();
  }

  /** Resolves when nothing is queued or running. */
  idle(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  close(): void {
    this.closed = true;
    this.pending.clear();
    for (const c of this.running.values()) c.abort();
    this.settleIfIdle();
  }

  private pump(): void {
    while (!this.closed && this.running.size < this.concurrency) {
      const next = this.pending.entries().next();
      if (next.done) break;
      const [key, task] = next.value;
      this.pending.delete(key);
      const controller = new AbortController();
      this.running.set(key, controller);
      void task(controller.signal)
        .catch(() => {}) // a probe that fails says "not HTTP"; it never takes the server down
        .finally(() => {
          if (this.running.get(key) === controller) this.running.delete(key);
          this.pump();
          this.settleIfIdle();
        });
    }
  }

  private settleIfIdle(): void {
    if (this.size > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
