import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readAtMost, readBounded } from '../../src/owners/read-bounded.js';

const dirs: string[] = [];
const writers: number[] = [];
afterEach(() => {
  for (const pid of writers.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'portwatch-read-bounded-'));
  dirs.push(d);
  return d;
}

/** A FIFO with a writer that never stops (`yes`), stopped by pid after the test. */
function endlessFifo(): string {
  const path = join(tempDir(), 'fifo');
  const made = spawnSync('mkfifo', [path]);
  if (made.status !== 0) throw new Error(`mkfifo failed: ${made.stderr.toString()}`);
  const writer = spawn('sh', ['-c', 'exec yes portwatch > "$1"', 'sh', path], { stdio: 'ignore' });
  writers.push(writer.pid as number);
  return path;
}

describe('readAtMost: files a user names are read up to a bound, whatever stat says', () => {
  it('stops after max + 1 bytes of /dev/zero (stat size 0, endless)', () => {
    const start = performance.now();
    const r = readAtMost('/dev/zero', 1024 * 1024);
    expect(performance.now() - start).toBeLessThan(2_000);
    expect(r.more).toBe(true);
    expect(r.bytes.length).toBe(1024 * 1024);
  });

  it('stops on an endless FIFO', () => {
    const r = readAtMost(endlessFifo(), 64 * 1024);
    expect(r.more).toBe(true);
    expect(r.bytes.length).toBe(64 * 1024);
    expect(r.bytes.subarray(0, 10).toString()).toBe('portwatch\n');
  });

  it('reads a file of exactly max bytes whole, and says when there is one byte more', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'exact'), 'x'.repeat(100));
    writeFileSync(join(dir, 'over'), 'x'.repeat(101));
    expect(readAtMost(join(dir, 'exact'), 100)).toEqual({ bytes: Buffer.from('x'.repeat(100)), more: false });
    const over = readAtMost(join(dir, 'over'), 100);
    expect([over.more, over.bytes.length]).toEqual([true, 100]);
    expect(readAtMost(join(dir, 'exact'), 1000)).toEqual({ bytes: Buffer.from('x'.repeat(100)), more: false });
  });

  it('throws what the file system says, for the caller to word', () => {
    const dir = tempDir();
    expect(() => readAtMost(join(dir, 'missing'), 10)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(() => readAtMost(dir, 10)).toThrow(expect.objectContaining({ code: 'EISDIR' }));
  });

  it('readBounded keeps its /proc contract: at most max bytes, null when unreadable', () => {
    expect(readBounded('/dev/zero', 4096)?.length).toBe(4096);
    expect(readBounded(join(tempDir(), 'missing'), 10)).toBeNull();
  });
});
