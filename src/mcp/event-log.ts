/**
 * The events an MCP client reads with get_port_events: a bounded log with cursors.
 *
 * A cursor is `<log id>:<seq>`: "I have seen every event up to number seq of this log".
 * Reading from a cursor of another log (the server restarted) starts over from the oldest
 * event kept and says `reset`; events that fell out of the log before being read are
 * counted in `missed`. Pure apart from the waiting, which is bounded by the caller's time.
 */
import { randomBytes } from 'node:crypto';
import { PortwatchError } from '../errors.js';

export interface ReadResult<T> {
  events: T[];
  /** Pass back as `since` to get the events after these. */
  cursor: string;
  /** Events after the given cursor that are no longer kept. */
  missed: number;
  /** The cursor was from another log (e.g. before a server restart): reading started over. */
  reset: boolean;
  /** More events are waiting beyond `limit`. */
  more: boolean;
}

export const DEFAULT_CAPACITY = 10_000;

export class EventLog<T> {
  readonly id: string;
  private readonly items: T[] = [];
  /** Sequence number of items[0]; events are numbered from 1. */
  private firstSeq = 1;
  private waiters = new Set<() => void>();

  constructor(
    private readonly capacity = DEFAULT_CAPACITY,
    id = randomBytes(4).toString('hex'),
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a positive integer');
    this.id = id;
  }

  /** Number of the newest event (0 when none yet). */
  get lastSeq(): number {
    return this.firstSeq + this.items.length - 1;
  }

  append(event: T): void {
    this.items.push(event);
    if (this.items.length > this.capacity) {
      this.items.shift();
      this.firstSeq++;
    }
    const waiting = this.waiters;
    this.waiters = new Set();
    for (const wake of waiting) wake();
  }

  cursorAt(seq: number): string {
    return `${this.id}:${seq}`;
  }

  /** The sequence number a cursor stands for; null when it is another log's. Throws EUSAGE when malformed. */
  parseCursor(cursor: string): number | null {
    const m = /^([0-9a-f]+):(\d+)$/.exec(cursor.trim());
    if (!m?.[1] || m[2] === undefined)
      throw new PortwatchError('EUSAGE', `invalid cursor '${cursor}': pass back a cursor this tool returned`);
    if (m[1] !== this.id) return null;
    const seq = Number(m[2]);
    return seq > this.lastSeq ? null : seq; // from the future: not this log's history
  }

  /** Events after `since` (all kept events when undefined), at most `limit`. */
  read(since: string | undefined, limit: number): ReadResult<T> {
    let after = 0;
    let reset = false;
    if (since !== undefined) {
      const seq = this.parseCursor(since);
      if (seq === null) reset = true;
      else after = seq;
    }
    const start = Math.max(after + 1, this.firstSeq);
    const missed = start - (after + 1);
    const from = start - this.firstSeq;
    const events = this.items.slice(from, from + limit);
    const last = start + events.length - 1;
    return { events, cursor: this.cursorAt(Math.max(last, after)), missed, reset, more: last < this.lastSeq };
  }

  /**
   * Resolves when an event newer than `since` exists, after `ms`, or when `signal` aborts.
   * Never rejects.
   */
  waitForNews(since: string | undefined, ms: number, signal?: AbortSignal): Promise<void> {
    let after = 0;
    if (since !== undefined) after = this.parseCursor(since) ?? 0;
    if (this.lastSeq > after || ms <= 0 || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}
