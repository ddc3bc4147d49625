import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PortwatchError } from '../../src/errors.js';
import { EventLog } from '../../src/mcp/event-log.js';

describe('EventLog', () => {
  it('reads everything kept without a cursor, then only what is new after the returned cursor', () => {
    const log = new EventLog<string>(10, 'abc');
    expect(log.read(undefined, 100)).toEqual({ events: [], cursor: 'abc:0', missed: 0, reset: false, more: false });
    log.append('a');
    log.append('b');
    const first = log.read(undefined, 100);
    expect(first).toEqual({ events: ['a', 'b'], cursor: 'abc:2', missed: 0, reset: false, more: false });
    expect(log.read(first.cursor, 100).events).toEqual([]);
    log.append('c');
    expect(log.read(first.cursor, 100)).toEqual({ events: ['c'], cursor: 'abc:3', missed: 0, reset: false, more: false });
  });

  it('pages with limit and says there is more', () => {
    const log = new EventLog<number>(10, 'abc');
    for (let i = 1; i <= 5; i++) log.append(i);
    const page = log.read(undefined, 2);
    expect(page).toEqual({ events: [1, 2], cursor: 'abc:2', missed: 0, reset: false, more: true });
    expect(log.read(page.cursor, 2)).toEqual({ events: [3, 4], cursor: 'abc:4', missed: 0, reset: false, more: true });
    expect(log.read('abc:4', 2)).toEqual({ events: [5], cursor: 'abc:5', missed: 0, reset: false, more: false });
  });

  it('counts events that fell out of a full log before they were read', () => {
    const log = new EventLog<number>(3, 'abc');
    for (let i = 1; i <= 7; i++) log.append(i);
    expect(log.read('abc:1', 100)).toEqual({ events: [5, 6, 7], cursor: 'abc:7', missed: 3, reset: false, more: false });
    expect(log.read(undefined, 100).missed).toBe(4);
  });

  it("starts over on another log's cursor, or one from the future", () => {
    const log = new EventLog<number>(10, 'abc');
    log.append(1);
    expect(log.read('dead:5', 100)).toEqual({ events: [1], cursor: 'abc:1', missed: 0, reset: true, more: false });
    expect(log.read('abc:9', 100)).toEqual({ events: [1], cursor: 'abc:1', missed: 0, reset: true, more: false });
  });

  it('refuses malformed cursors', () => {
    const log = new EventLog<number>(10, 'abc');
    for (const bad of ['', 'abc', 'abc:-1', 'abc:1.5', 'ABC!:1'])
      expect(() => log.read(bad, 1)).toThrow(
        new PortwatchError('EUSAGE', `invalid cursor '${bad}': pass back a cursor this tool returned`),
      );
  });

  it('waits for the next event, or until the time is up, or until aborted', async () => {
    const log = new EventLog<number>(10, 'abc');
    const waiting = log.waitForNews('abc:0', 60_000);
    log.append(1);
    await waiting; // resolved by the append, long before the minute
    const t0 = Date.now();
    await log.waitForNews('abc:1', 50);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(45);
    const controller = new AbortController();
    const aborted = log.waitForNews('abc:1', 60_000, controller.signal);
    controller.abort();
    await aborted;
    await log.waitForNews('abc:0', 60_000); // already news: at once
  });

  it('never loses or repeats an event, whatever the capacity, appends and page sizes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 5 })), { maxLength: 40 }),
        (cap, ops) => {
          const log = new EventLog<number>(cap, 'f');
          let next = 1;
          let cursor: string | undefined;
          const seen: number[] = [];
          let missed = 0;
          for (const op of ops) {
            if (op === 0) log.append(next++);
            else {
              const r = log.read(cursor, op);
              seen.push(...r.events);
              missed += r.missed;
              cursor = r.cursor;
            }
          }
          for (;;) {
            const r = log.read(cursor, 3);
            seen.push(...r.events);
            missed += r.missed;
            cursor = r.cursor;
            if (!r.more) break;
          }
          expect(seen).toEqual([...seen].sort((a, b) => a - b));
          expect(new Set(seen).size).toBe(seen.length);
          expect(seen.length + missed).toBe(next - 1);
        },
      ),
    );
  });
});
