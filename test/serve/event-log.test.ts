import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventLog, parseEventId } from '../../src/serve/event-log.js';

describe('EventLog (ring buffer)', () => {
  it('numbers entries from 1 and returns what came after an id', () => {
    const log = new EventLog<string>(10);
    expect(log.lastId).toBe(0);
    expect(log.since(0)).toEqual({ entries: [], complete: true });
    for (const s of ['a', 'b', 'c']) log.append(s);
    expect(log.lastId).toBe(3);
    expect(log.oldestId).toBe(1);
    expect(log.since(0)).toEqual({
      entries: [
        { id: 1, data: 'a' },
        { id: 2, data: 'b' },
        { id: 3, data: 'c' },
      ],
      complete: true,
    });
    expect(log.since(2)).toEqual({ entries: [{ id: 3, data: 'c' }], complete: true });
    expect(log.since(3)).toEqual({ entries: [], complete: true });
  });

  it('keeps only the last `capacity` entries and says when some asked for are gone', () => {
    const log = new EventLog<number>(3);
    for (let i = 1; i <= 7; i++) log.append(i * 10);
    expect(log.size).toBe(3);
    expect(log.oldestId).toBe(5);
    expect(log.since(4)).toEqual({
      entries: [
        { id: 5, data: 50 },
        { id: 6, data: 60 },
        { id: 7, data: 70 },
      ],
      complete: true,
    });
    expect(log.since(3)).toEqual({
      entries: [
        { id: 5, data: 50 },
        { id: 6, data: 60 },
        { id: 7, data: 70 },
      ],
      complete: false,
    });
    expect(log.since(6).entries.map((e) => e.id)).toEqual([7]);
  });

  it('treats an id it never issued (e.g. from before a restart) as incomplete', () => {
    const log = new EventLog<number>(5);
    log.append(1);
    expect(log.since(9)).toEqual({ entries: [{ id: 1, data: 1 }], complete: false });
    expect(log.since(-1).complete).toBe(false);
    expect(log.since(1.5).complete).toBe(false);
  });

  it('recent(n) is the newest n, oldest first', () => {
    const log = new EventLog<number>(4);
    for (let i = 1; i <= 6; i++) log.append(i);
    expect(log.recent(2).map((e) => e.data)).toEqual([5, 6]);
    expect(log.recent(100).map((e) => e.data)).toEqual([3, 4, 5, 6]);
    expect(log.recent(0)).toEqual([]);
  });

  it('rejects a capacity that is not a positive integer', () => {
    expect(() => new EventLog(0)).toThrow(RangeError);
    expect(() => new EventLog(1.5)).toThrow(RangeError);
  });

  it('property: since(id) is exactly the ids after it, complete iff none were dropped', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 0, max: 200 }),
        fc.integer({ min: 0, max: 220 }),
        (capacity, appends, asked) => {
          const log = new EventLog<number>(capacity);
          for (let i = 1; i <= appends; i++) log.append(i);
          const { entries, complete } = log.since(asked);
          const oldest = Math.max(1, appends - capacity + 1);
          if (asked > appends) {
            expect(complete).toBe(false);
            return;
          }
          const from = Math.max(asked + 1, oldest);
          const want = Array.from({ length: Math.max(0, appends - from + 1) }, (_, i) => from + i);
          expect(entries.map((e) => e.id)).toEqual(want);
          expect(entries.every((e) => e.data === e.id)).toBe(true);
          expect(complete).toBe(asked + 1 >= oldest);
        },
      ),
    );
  });
});

describe('parseEventId', () => {
  it('accepts decimal ids only', () => {
    expect(parseEventId('0')).toBe(0);
    expect(parseEventId(' 42 ')).toBe(42);
    expect(parseEventId(null)).toBeNull();
    expect(parseEventId(undefined)).toBeNull();
    for (const bad of ['', '-1', '1e3', '0x10', 'abc', '1.5', '9999999999999999']) expect(parseEventId(bad)).toBeNull();
  });
});
