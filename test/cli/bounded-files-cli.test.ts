/**
 * Files a user names are read up to a bound, through the real CLI: /dev/zero, an endless
 * FIFO or a large file is one usage line and exit 2, not gigabytes of memory.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI } from '../helpers/cli.js';

const dirs: string[] = [];
const writers: number[] = [];
const running = new Set<ChildProcess>();
afterEach(() => {
  for (const c of running) c.kill('SIGKILL');
  running.clear();
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
  const d = mkdtempSync(join(tmpdir(), 'portwatch-bounded-cli-'));
  dirs.push(d);
  return d;
}

/** A FIFO with a writer that never stops (`yes`), stopped by pid after the test. */
function endlessFifo(dir: string): string {
  const path = join(dir, 'fifo');
  const made = spawnSync('mkfifo', [path]);
  if (made.status !== 0) throw new Error(`mkfifo failed: ${made.stderr.toString()}`);
  const writer = spawn('sh', ['-c', 'exec yes portwatch > "$1"', 'sh', path], { stdio: 'ignore' });
  writers.push(writer.pid as number);
  return path;
}

/** Runs the CLI in `cwd` to completion (killed after 20 s). */
function cli(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      running.delete(child);
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function expectOneUsageLine(r: { code: number | null; stdout: string; stderr: string }, line: RegExp): void {
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(line);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stdout).toBe('');
}

describe('--config is read up to 1 MiB', () => {
  it('/dev/zero', async () => {
    expectOneUsageLine(await cli(['list', '--config', '/dev/zero'], tempDir()), /^portwatch: \/dev\/zero: is larger than 1 MiB\n$/);
  });

  it('a FIFO whose writer never stops', async () => {
    const dir = tempDir();
    endlessFifo(dir);
    expectOneUsageLine(await cli(['list', '--config', 'fifo'], dir), /^portwatch: fifo: is larger than 1 MiB\n$/);
  });

  it('a regular file one byte over, while one of exactly 1 MiB is read', async () => {
    const dir = tempDir();
    const exact = JSON.stringify({ ignore: [{ port: 1 }] });
    writeFileSync(join(dir, 'exact.json'), exact + ' '.repeat(1024 * 1024 - exact.length));
    writeFileSync(join(dir, 'over.json'), exact + ' '.repeat(1024 * 1024 - exact.length + 1));
    expectOneUsageLine(await cli(['list', '--config', 'over.json'], dir), /^portwatch: over\.json: is larger than 1 MiB\n$/);
    const ok = await cli(['list', '--json', '--config', 'exact.json', '--port', '1'], dir);
    expect([ok.code, ok.stderr, ok.stdout.trim()]).toEqual([0, '', '[]']);
  });
});

describe('--token-file is read up to 64 KiB', () => {
  const serve = ['serve', '--no-config', '--listen', '127.0.0.1:0', '--token-file'];

  it('/dev/zero', async () => {
    expectOneUsageLine(
      await cli([...serve, '/dev/zero'], tempDir()),
      /^portwatch: --token-file '\/dev\/zero' is larger than 64 KiB: it should hold only the token\n$/,
    );
  });

  it('a FIFO whose writer never stops', async () => {
    const dir = tempDir();
    endlessFifo(dir);
    expectOneUsageLine(await cli([...serve, 'fifo'], dir), /^portwatch: --token-file 'fifo' is larger than 64 KiB/);
  });

  it('a regular file one byte over', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'token'), 't'.repeat(64 * 1024 + 1));
    expectOneUsageLine(await cli([...serve, 'token'], dir), /^portwatch: --token-file 'token' is larger than 64 KiB/);
  });
});
