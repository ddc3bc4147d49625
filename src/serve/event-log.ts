/**
 * The recent-events ring buffer: every event gets the next id (1, 2, 3, …); the last
 * `capacity` are kept so that a client that reconnects with the last id it saw gets
 * exactly what it missed, or learns that some of it is gone.
 */

export interface LogEntry<T> {
  id: number;
  data: T;
}

export interface SinceResult<T> {
  /** Entries after the id asked for, oldest first. */
  entries: LogEntry<T>[];
  /** False when entries after that id were already dropped, or the id is not one of ours. */
  complete: boolean;
}

export class EventLog<T> {
  private readonly ring: (LogEntry<T> | undefined)[];
  private next = 0; // ring index the next entry goes to
  private count = 0;
  private last = 0;

  constructor(readonly capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1)
      throw new RangeError(`event log capacity must be a positive integer, not ${capacity}`);
    this.ring = new Array<LogEntry<T> | undefined>(capacity);
  }

  /** Id of the newest entry; 0 before the first. */
  get lastId(): number {
    return this.last;
  }

  /** Id of the oldest entry still kept; lastId + 1 when empty. */
  get oldestId(): number {
    return this.last - this.count + 1;
  }

  get size(): number {
    return this.count;
  }

  append(data: T): LogEntry<T> {
    const entry = { id: ++this.last, data };
    this.ring[this.next] = entry;
    this.next = (this.next + 1) % this.capacity;
    if (this.count < this.capacity) this.count++;
    return entry;
  }

  /** The entries with an id above `id`. */
  since(id: number): SinceResult<T> {
    if (!Number.isSafeInteger(id) || id < 0 || id > this.last) return { entries: this.recent(this.count), complete: false };
    const wanted = this.last - id;
    const entries = this.recent(Math.min(wanted, this.count));
    return { entries, complete: wanted <= this.count };
  }

  /** The newest `n` entries, oldest first. */
  recent(n: number): LogEntry<T>[] {
    const k = Math.max(0, Math.min(n, this.count));
    const out: LogEntry<T>[] = [];
    for (let i = k; i > 0; i--) out.push(this.ring[(this.next - i + this.capacity) % this.capacity] as LogEntry<T>);
    return out;
  }
}

/** Parses an event id from a `Last-Event-ID` header or `?since=`; null when it is not one. */
export function parseEventId(text: string | null | undefined): number | null {
  if (text === null || text === undefined) return null;
  const t = text.trim();
  if (!/^\d{1,15}$/.test(t)) return null;
  return Number(t);
}
