/**
 * The last resort: however portwatch exits (process.exit() anywhere, an uncaught exception),
 * what `run` started does not outlive it. Runs the built runner in its own process.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/processes.js';
import { FAMILY, gone, stopRuns, track } from './run-cli.js';

const RUNNER = pathToFileURL(fileURLToPath(new URL('../../dist/run/runner.js', import.meta.url))).href;

afterEach(stopRuns);

function host(onOpen: string): string {
  return `
import { runCommand } from ${JSON.stringify(RUNNER)};
const rules = { filter: () => true, announce: () => true, label: () => null };
await runCommand({
  command: process.execPath,
  args: [${JSON.stringify(FAMILY)}, 'escape'],
  watch: { interval: 50 },
  rules,
  report: (e) => {
    if (e.type !== 'open') return;
    console.log('open ' + e.listener.process.pid + ' ' + e.listener.process.ppid);
    ${onOpen};
  },
  warn: () => {},
});
`;
}

describe('run: nothing it started outlives portwatch', () => {
  it.each([
    ['process.exit() from anywhere', 'process.exit(7)', 7],
    ['an uncaught exception', 'setImmediate(() => { throw new Error("a bug") })', 1],
  ])('%s', async (_, onOpen, code) => {
    const p = spawn(process.execPath, ['--input-type=module', '-e', host(onOpen)], { stdio: ['ignore', 'pipe', 'pipe'] });
    track(p.pid as number);
    let out = '';
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      for (const m of out.matchAll(/^open (\d+) (\d+)$/gm)) m.slice(1).forEach((pid) => track(Number(pid))); // killed by pid if the test fails
    });
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => p.on('close', (c) => resolve(c)));
    expect(await exited).toBe(code);
    // The root stays; its child (the listener) left the group, into its own session: both must go with portwatch.
    const [, gc, root] = (/^open (\d+) (\d+)$/m.exec(out) ?? []).map(Number);
    if (gc === undefined || root === undefined) throw new Error(`no open event in: ${out}`);
    await waitFor(() => gone(root) && gone(gc), 'the root and the grandchild to be killed', 5_000);
    if (code === 1) expect(out).toContain('Error: a bug');
  });
});
