import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Listener } from '../../src/listener.js';
import { drained, HINT_FOLLOW_UPS_MS, HintFollowUps, teeOutput } from '../../src/run/output-hints.js';
import type { PortHint } from '../../src/run/url-hints.js';

/** What HintFollowUps asks of the watcher: the ports listening now, and a rescan (counted). */
class Table {
  ports: number[] = [];
  rescans: number[] = [];
  snapshot(): Listener[] {
    return this.ports.map((port) => ({ port }) as Listener);
  }
  rescan(): void {
    this.rescans.push(Date.now());
  }
}

const hint = (port: number): PortHint => ({ host: 'localhost', port });

describe('HintFollowUps: a scan at once, then follow-ups while the hinted port has not appeared', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('rescans at once and after each follow-up delay, then stops', () => {
    const table = new Table();
    const hints = new HintFollowUps(table);
    hints.push([hint(3000)]);
    vi.advanceTimersByTime(60_000);
    let at = 0;
    const expected = [0, ...HINT_FOLLOW_UPS_MS.map((ms) => (at += ms))];
    expect(table.rescans).toEqual(expected);
    expect(expected).toEqual([0, 100, 400, 1_400, 4_400]);
  });

  it('asks nothing for a port that already listens, or for no hint', () => {
    const table = new Table();
    table.ports = [3000];
    const hints = new HintFollowUps(table);
    hints.push([hint(3000)]);
    hints.push([]);
    vi.advanceTimersByTime(60_000);
    expect(table.rescans).toEqual([]);
  });

  it('a hinted port that opens ends the follow-ups', () => {
    const table = new Table();
    const hints = new HintFollowUps(table);
    hints.push([hint(3000)]);
    vi.advanceTimersByTime(100);
    hints.opened([{ port: 3000 } as Listener]);
    vi.advanceTimersByTime(60_000);
    expect(table.rescans).toEqual([0, 100]);
  });

  it('follow-ups go on while one of several hinted ports is still missing', () => {
    const table = new Table();
    const hints = new HintFollowUps(table);
    hints.push([hint(3000), hint(3001)]);
    hints.opened([{ port: 3000 } as Listener]);
    vi.advanceTimersByTime(60_000);
    expect(table.rescans).toHaveLength(1 + HINT_FOLLOW_UPS_MS.length);
  });

  it('a new hint starts the follow-ups again from the first delay', () => {
    const table = new Table();
    const hints = new HintFollowUps(table);
    hints.push([hint(3000)]);
    vi.advanceTimersByTime(400); // rescans at 0, 100, 400
    hints.push([hint(4000)]); // at 400: at once, then 500, 800, …
    vi.advanceTimersByTime(150);
    expect(table.rescans).toEqual([0, 100, 400, 400, 500]);
  });

  it('stop() cancels the pending follow-up', () => {
    const table = new Table();
    const hints = new HintFollowUps(table);
    hints.push([hint(3000)]);
    hints.stop();
    vi.advanceTimersByTime(60_000);
    expect(table.rescans).toEqual([0]);
  });
});

describe('teeOutput: the output passes through, its hints are handed on', () => {
  it('passes every byte, finds a URL split across chunks, and finds a last line without a newline', async () => {
    const from = new PassThrough();
    const to = new PassThrough();
    const seen: number[] = [];
    const out: Buffer[] = [];
    to.on('data', (b: Buffer) => out.push(b));
    teeOutput(from, to as unknown as NodeJS.WriteStream, 'devbox', (found) => seen.push(...found.map((h) => h.port)));
    const text = 'ready: http://local' + 'host:5173/\n' + 'caf\u00e9 listening on port 8080';
    const bytes = Buffer.from(text, 'utf8');
    // Split inside the URL and inside the two-byte é.
    const cut = bytes.indexOf('caf') + 4;
    from.write(bytes.subarray(0, 19));
    from.write(bytes.subarray(19, cut));
    from.end(bytes.subarray(cut));
    await new Promise((resolve) => from.once('end', resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(Buffer.concat(out).equals(bytes)).toBe(true);
    expect(seen).toEqual([5173, 8080]);
  });

  it('stops reading when our reader goes away (| head), so the command gets EPIPE instead of us dying', () => {
    const from = new PassThrough();
    const to = new PassThrough();
    teeOutput(from, to as unknown as NodeJS.WriteStream, 'devbox', () => {});
    to.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    expect(from.destroyed).toBe(true);
  });

  it('does nothing without a stream (COMMAND given our stdio)', () => {
    expect(() => teeOutput(null, process.stdout, 'devbox', () => {})).not.toThrow();
  });
});

describe('drained', () => {
  it('resolves when the streams close, or after the bound when one stays open', async () => {
    const a = new PassThrough();
    const b = new PassThrough();
    const closing = drained([a, b, null], 10_000);
    a.destroy();
    b.destroy();
    await closing;
    const held = new PassThrough();
    const started = performance.now();
    await drained([held], 50);
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
    expect(held.destroyed).toBe(false);
    held.destroy();
  });
});
