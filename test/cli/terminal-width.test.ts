/**
 * A terminal that reports 0 columns (some CI runners, `script` without a size) means "width
 * unknown": rows are printed whole. Run through a real pty made by util-linux `script`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI } from '../helpers/cli.js';
import { holdSockets, stopAll } from '../helpers/processes.js';

afterEach(stopAll);

const quote = (word: string): string => `'${word.replace(/'/g, `'\\''`)}'`;

function scriptAvailable(): string | null {
  const r = spawnSync('script', ['-qc', 'true', '/dev/null'], { stdio: 'ignore', timeout: 10_000 });
  if (r.error) return `script (util-linux) is not runnable: ${r.error.message}`;
  return r.status === 0 ? null : `script -qc true exited ${r.status}`;
}

/** Runs the CLI on a pty of `cols` columns; resolves with what the terminal received. */
function onPty(cols: number, args: string[]): Promise<{ code: number | null; output: string }> {
  const command = `stty cols ${cols} rows 24 && exec ${[process.execPath, CLI, ...args].map(quote).join(' ')}`;
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => process.kill(child.pid as number, 'SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output: output.replace(/\r\n/g, '\n') });
    });
  });
}

describe('a pty with width 0', () => {
  it('list prints whole rows, where a real width cuts them', async (ctx) => {
    const missing = scriptAvailable();
    if (missing !== null) {
      console.warn(`skipped: ${missing}`);
      ctx.skip();
    }
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
    const row = new RegExp(
      `^tcp\\s+127\\.0\\.0\\.1:${holder.ports[0]}\\s+${holder.pid}\\s+\\S+\\s+python3\\s+\\S*python3 \\S+listen\\.py .+$`,
      'm',
    );

    const zero = await onPty(0, ['list', '--pid', String(holder.pid)]);
    expect(zero.code).toBe(0);
    expect(zero.output).toMatch(/^PROTO\s+ADDRESS:PORT\s+PID\s+USER\s+PROCESS\s+COMMAND$/m);
    expect(zero.output).toMatch(row);

    const narrow = await onPty(30, ['list', '--pid', String(holder.pid)]);
    expect(narrow.code).toBe(0);
    expect(narrow.output.split('\n').filter((l) => l !== '')).toEqual([
      expect.stringMatching(/^PROTO.{24}…$/),
      expect.stringMatching(/^tcp.{26}…$/),
    ]);
  });
});
