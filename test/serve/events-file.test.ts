import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EventsFile } from '../../src/serve/events-file.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'portwatch-events-'));
  dirs.push(d);
  return d;
}
const lines = (path: string): unknown[] =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as unknown);

describe('EventsFile', () => {
  it('appends one JSON object per line, after what the file already had', async () => {
    const path = join(tempDir(), 'events.ndjson');
    writeFileSync(path, '{"old":true}\n');
    const f = await EventsFile.open(path);
    f.append({ n: 1 });
    f.append({ n: 2, s: 'line\nbreak' });
    await f.close();
    expect(lines(path)).toEqual([{ old: true }, { n: 1 }, { n: 2, s: 'line\nbreak' }]);
  });

  it('rotates to <file>.1 before a line would pass the limit, keeping one rotated file', async () => {
    const path = join(tempDir(), 'events.ndjson');
    const f = await EventsFile.open(path, { maxBytes: 100 });
    const record = (n: number) => ({ n: String(n).padStart(2, '0'), pad: 'x'.repeat(10) });
    const lineBytes = Buffer.byteLength(`${JSON.stringify(record(1))}\n`); // 29
    const perFile = Math.floor(100 / lineBytes); // 3
    for (let n = 1; n <= 10; n++) {
      f.append(record(n));
      if (n % 4 === 0) await f.flush(); // both batched and single writes
    }
    await f.close();
    const current = (lines(path) as { n: string }[]).map((r) => Number(r.n));
    const rotated = (lines(`${path}.1`) as { n: string }[]).map((r) => Number(r.n));
    // 10 lines, 3 per file: [1 2 3] [4 5 6] [7 8 9] [10]; the last two files are kept.
    expect(perFile).toBe(3);
    expect(rotated).toEqual([7, 8, 9]);
    expect(current).toEqual([10]);
    expect(statSync(`${path}.1`).size).toBe(3 * lineBytes);
    expect(existsSync(`${path}.2`)).toBe(false);
  });

  it('counts the existing size toward the limit', async () => {
    const path = join(tempDir(), 'events.ndjson');
    writeFileSync(path, `${'y'.repeat(95)}\n`); // 96 bytes: the next 8-byte line would pass 100
    const f = await EventsFile.open(path, { maxBytes: 100 });
    f.append({ n: 1 });
    await f.close();
    expect(readFileSync(`${path}.1`, 'utf8')).toBe(`${'y'.repeat(95)}\n`);
    expect(lines(path)).toEqual([{ n: 1 }]);
  });

  it('a line longer than the limit still gets written, alone in its file', async () => {
    const path = join(tempDir(), 'e.ndjson');
    const f = await EventsFile.open(path, { maxBytes: 10 });
    f.append({ long: 'z'.repeat(50) });
    f.append({ n: 2 });
    await f.close();
    expect(lines(`${path}.1`)).toEqual([{ long: 'z'.repeat(50) }]);
    expect(lines(path)).toEqual([{ n: 2 }]);
  });

  it('a path that cannot be written is a usage error naming it', async () => {
    const missing = join(tempDir(), 'no', 'such', 'dir', 'events.ndjson');
    await expect(EventsFile.open(missing)).rejects.toMatchObject({ code: 'EUSAGE', message: expect.stringContaining(missing) });
  });

  it('a rotation that fails is reported, and no event is lost', async () => {
    // A non-empty directory at <file>.1 makes the rename fail, for root too.
    const dir = tempDir();
    const path = join(dir, 'e.ndjson');
    mkdirSync(`${path}.1`);
    writeFileSync(join(`${path}.1`, 'keep'), 'x');
    const errors: string[] = [];
    const f = await EventsFile.open(path, { maxBytes: 20, onError: (e) => errors.push(e.message) });
    f.append({ n: 1, pad: 'aaaaaaaa' });
    f.append({ n: 2, pad: 'bbbbbbbb' }); // needs a rotation, which fails
    await f.flush();
    f.append({ n: 3 });
    await f.close();
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]).toContain(path);
    expect(errors[0]).toMatch(/cannot rotate/);
    expect((lines(path) as { n: number }[]).map((r) => r.n)).toEqual([1, 2, 3]);
  });
});
