/**
 * User patterns through the real CLI: rules that backtrack for minutes in a JavaScript
 * RegExp answer at once, and what RE2 cannot take is one usage line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Listener } from '../../src/listener.js';
import { CLI } from '../helpers/cli.js';
import { holdPathological, stopPathological } from '../helpers/pathological-command.js';

const running = new Set<ChildProcess>();
const dirs: string[] = [];
afterEach(async () => {
  // A CLI still running when a test gave up (it would be, before the fix) is stopped too.
  for (const c of running) c.kill('SIGKILL');
  running.clear();
  await stopPathological();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function project(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'portwatch-patterns-cli-'));
  dirs.push(root);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(root, name), text);
  return root;
}

/**
 * Runs the CLI in `cwd` to completion (killed after 60 s, or when `signal` aborts: a test
 * that timed out must not go on starting CLIs); returns how long it took.
 */
function cli(
  args: string[],
  cwd: string,
  signal?: AbortSignal,
): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(signal ? { signal, killSignal: 'SIGKILL' as const } : {}),
    });
    running.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      running.delete(child);
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - start });
    });
  });
}

type Labelled = Listener & { label: string | null };

describe('list: patterns that backtrack for minutes in a JavaScript RegExp answer at once', () => {
  it('config rules, devcontainer portsAttributes keys and --process', async ({ signal }) => {
    const { pid, port } = await holdPathological();
    const dir = project({
      'rules.json': JSON.stringify({ ignore: [{ command: '(a+)+$' }], label: [{ command: '(\\w+\\s?)+!', label: 'bang' }] }),
      'devcontainer.json': JSON.stringify({
        portsAttributes: { '(a+)+$': { onAutoForward: 'ignore' }, '(\\w+\\s?)+#': { label: 'hash' } },
      }),
      'plain.json': JSON.stringify({ label: [{ command: 'python3', label: 'bang' }] }),
    });
    const only = ['--json', '--pid', String(pid)];
    // The same listing with a harmless rule: what a scan and Node's start-up cost right now.
    const baseline = await cli(['list', ...only, '--config', 'plain.json'], dir, signal);
    expect(baseline.code).toBe(0);

    const rules = await cli(['list', ...only, '--config', 'rules.json'], dir, signal);
    const devcontainer = await cli(['list', ...only, '--config', 'devcontainer.json'], dir, signal);
    const processFilter = await cli(['list', ...only, '--no-config', '--process', '(\\w+\\s?)+!'], dir, signal);
    for (const r of [rules, devcontainer, processFilter]) {
      expect([r.code, r.stderr]).toEqual([0, '']);
      // Minutes before; a generous margin over the baseline for a loaded machine.
      expect(r.ms - baseline.ms).toBeLessThan(3_000);
    }
    // The rules still mean what they say: `(a+)+$` does not match (the line ends in '!'),
    // `(\w+\s?)+!` does.
    const shown = (stdout: string): [number, string | null][] => (JSON.parse(stdout) as Labelled[]).map((l) => [l.port, l.label]);
    expect(shown(rules.stdout)).toEqual([[port, 'bang']]);
    expect(shown(devcontainer.stdout)).toEqual([[port, null]]);
    expect((JSON.parse(processFilter.stdout) as Listener[]).map((l) => l.port)).toEqual([port]);
  });
});

describe('a pattern RE2 cannot take: one line, exit 2', () => {
  it.each([
    [
      ['list', '--no-config', '--process', '(a)\\1'],
      /^portwatch: invalid regular expression '\(a\)\\1': backreferences like \\1 are not supported/,
    ],
    [['list', '--no-config', '--process', 'node(?=\\s)'], /^portwatch: invalid regular expression 'node\(\?=\\s\)': lookahead/],
    [
      ['list', '--config', 'lookbehind.json'],
      /^portwatch: lookbehind\.json: ignore\[0\]\.command: invalid regular expression '\(\?<=node \)vite': lookbehind/,
    ],
    [
      ['list', '--config', 'devcontainer.json'],
      /^portwatch: devcontainer\.json: portsAttributes\["\(\.\*a\.\*\)\{300\}"\]: invalid regular expression .*too complex/,
    ],
  ])('%j', async (args, message) => {
    const dir = project({
      'lookbehind.json': JSON.stringify({ ignore: [{ command: '(?<=node )vite' }] }),
      'devcontainer.json': JSON.stringify({ portsAttributes: { '(.*a.*){300}': { label: 'x' } } }),
    });
    const r = await cli(args, dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.endsWith('\n')).toBe(true);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).toBe('');
  });
});
