/**
 * `portwatch list | head -1`: the reader of stdout goes away. stdout here is a real pipe (a
 * FIFO: the same kernel pipe as `|`, but one the test can hold the read end of and close
 * when it chooses), so the CLI gets EPIPE exactly as under a shell pipeline.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI } from '../helpers/cli.js';
import { holdSockets, stopAll, waitFor } from '../helpers/processes.js';

interface PipedCli {
  child: ChildProcess;
  /** Everything read from stdout until the reader was closed. */
  stdout(): string;
  stderr(): string;
  /** Closes the only read end of the pipe: the CLI's next write gets EPIPE. */
  closeReader(): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const c of running.splice(0)) {
    if (c.exitCode === null && c.signalCode === null) {
      const gone = new Promise((r) => c.once('close', r));
      process.kill(c.pid as number, 'SIGKILL');
      await gone;
    }
  }
  await stopAll();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** `both`: stderr goes into the same pipe (`2>&1 |`). */
function startPiped(args: string[], { both = false } = {}): PipedCli {
  const dir = mkdtempSync(join(tmpdir(), 'portwatch-pipe-'));
  dirs.push(dir);
  const fifo = join(dir, 'stdout');
  const made = spawnSync('mkfifo', [fifo]);
  if (made.status !== 0) throw new Error(`mkfifo failed: ${made.stderr.toString()}`);
  const readFd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const writeFd = openSync(fifo, constants.O_WRONLY);
  const child = spawn(process.execPath, [CLI, ...args], {
    stdio: ['ignore', writeFd, both ? writeFd : 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  closeSync(writeFd); // the CLI holds the only write end, the test the only read end
  running.push(child);
  const reader = new Socket({ fd: readFd, readable: true, writable: false });
  let out = '';
  let err = '';
  reader.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    closeReader: () =>
      new Promise<void>((resolve) => {
        reader.once('close', () => resolve());
        reader.destroy();
      }),
    exited,
  };
}

/** Ends within the deadline, or fails the test (the afterEach stops it by pid). */
async function exitOf(cli: PipedCli, ms = 15_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still running after ${ms} ms; stderr: ${cli.stderr()}`)), ms);
  });
  try {
    return await Promise.race([cli.exited, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('a reader that goes away ends the output quietly', () => {
  it.each([
    ['list', []],
    ['list --json', ['--json']],
    ['list --verbose', ['--verbose']],
  ])('`%s` into a closed pipe: status 0, nothing on stderr but what was asked for', async (_, extra) => {
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
    const cli = startPiped(['list', '--pid', String(holder.pid), ...extra]);
    await cli.closeReader();
    expect(await exitOf(cli)).toEqual({ code: 0, signal: null });
    const stderr = cli.stderr();
    if (extra.includes('--verbose')) {
      // Only what --verbose asked for: its own `portwatch: …` lines, no stack trace.
      expect(stderr).toMatch(/^portwatch: 1 listener\(s\) via \w+ in [\d.]+ ms; .*\nportwatch: rules: .*\n/);
      for (const line of stderr.trimEnd().split('\n')) expect(line).toMatch(/^portwatch: /);
    } else expect(stderr).toBe('');
  });

  it.each([
    ['wait', []],
    ['wait --json', ['--json']],
  ])('`%s` into a closed pipe: status 0 (the port listens), nothing on stderr', async (_, extra) => {
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
    const cli = startPiped(['wait', String(holder.ports[0]), '--timeout', '10s', ...extra]);
    await cli.closeReader();
    expect(await exitOf(cli)).toEqual({ code: 0, signal: null });
    expect(cli.stderr()).toBe('');
  });

  it('`wait` that times out into a closed pipe keeps its status 1 and its one line', async () => {
    const holder = await holdSockets([]);
    const { index, port } = await holder.open({ proto: 'tcp', host: '127.0.0.1' });
    await holder.close(index); // free a moment ago, and nobody listens there now
    const cli = startPiped(['wait', String(port), '--timeout', '200ms']);
    await cli.closeReader();
    expect(await exitOf(cli)).toEqual({ code: 1, signal: null });
    expect(cli.stderr()).toMatch(/^portwatch: [^\n]+\n$/);
  });

  it('`watch | head -1`: the table is read, the reader leaves, the next event ends watch with status 0', async () => {
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
    const cli = startPiped(['watch', '--interval', '50ms', '--pid', String(holder.pid)]);
    await waitFor(() => cli.stdout().includes('\n'), 'the first line of the table');
    await cli.closeReader();
    await holder.open({ proto: 'tcp', host: '127.0.0.1' }); // something to print
    expect(await exitOf(cli)).toEqual({ code: 0, signal: null });
    expect(cli.stdout()).toMatch(/^PROTO\s+ADDRESS:PORT/);
    expect(cli.stderr()).toMatch(/^portwatch: watching 1 listener\(s\) via \w+, trigger \w+; Ctrl-C to stop\n$/);
  });

  it('`watch | head -1` on a quiet port: ends when the reader leaves, with no event to print', async () => {
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
    const cli = startPiped(['watch', '--pid', String(holder.pid)]);
    await waitFor(() => cli.stdout().includes('\n') && cli.stderr().includes('watching'), 'the table and the watching line');
    await cli.closeReader(); // nothing opens or closes after this: no write will meet EPIPE
    expect(await exitOf(cli)).toEqual({ code: 0, signal: null });
  });

  it.each([
    ['watch', []],
    ['watch --json', ['--json']],
  ])('`%s` into a pipe closed before the first line: status 0, no stack trace', async (_, extra) => {
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
    const cli = startPiped(['watch', '--interval', '50ms', '--pid', String(holder.pid), ...extra]);
    await cli.closeReader();
    // The kernel reports the pipe broken (output-guard.ts): watch ends without waiting for a
    // line to write, before or after its first scan, so the watching line may or may not be there.
    expect(await exitOf(cli)).toEqual({ code: 0, signal: null });
    expect(cli.stderr()).toMatch(/^(portwatch: watching 1 listener\(s\) via \w+, trigger \w+; Ctrl-C to stop\n)?$/);
  });

  it('`watch 2>&1 | head -1`: stderr gone too, still status 0', async () => {
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
    const cli = startPiped(['watch', '--interval', '50ms', '--pid', String(holder.pid)], { both: true });
    await cli.closeReader(); // before the table and the "watching" line on stderr
    expect(await exitOf(cli)).toEqual({ code: 0, signal: null });
  });
});
