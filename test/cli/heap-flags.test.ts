import { spawnSync } from 'node:child_process';
import { setFlagsFromString } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bytesMoving, flagsBeforeLoading, heapFlagsOf, setHeapMode } from '../../src/cli/heap-flags.js';
import { startCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/processes.js';

describe('the V8 flags the command sets for itself', () => {
  it('has a mode for watching and one for moving bytes', () => {
    expect(heapFlagsOf('watching')).toEqual(['--incremental-marking', '--semi-space-growth-factor=1', '--heap-growing-percent=10']);
    // Back to V8's defaults for what watching sets.
    expect(heapFlagsOf('moving-bytes')).toEqual(['--no-incremental-marking', '--semi-space-growth-factor=2', '--heap-growing-percent=0']);
  });

  it('switches only when the mode changes, and moves bytes while any stream of them is open', () => {
    // In this test worker's own V8, left with V8's defaults at the end whatever happens.
    try {
      expect(setHeapMode('watching')).toBe(true);
      expect(setHeapMode('watching')).toBe(false);
      expect(setHeapMode('moving-bytes')).toBe(true);
      expect(setHeapMode('moving-bytes')).toBe(false);
      expect(setHeapMode('watching')).toBe(true);
      // Two streams (a tunnel and a JS relay, say): roomy from the first to the last.
      expect(bytesMoving(1)).toBe('moving-bytes');
      expect(bytesMoving(1)).toBeNull();
      expect(bytesMoving(-1)).toBeNull();
      expect(bytesMoving(-1)).toBe('watching');
    } finally {
      for (const flag of ['--incremental-marking', '--semi-space-growth-factor=2', '--heap-growing-percent=0']) setFlagsFromString(flag);
    }
  });

  it('take effect when set at run time: the young generation stays small under garbage that lives a while', () => {
    // Short-lived objects kept for a moment (as a watcher's listeners under churn), then the
    // young generation's committed size; with the flags set as main.ts sets them, and without.
    const script = (flags: string[]): string => `
      const { setFlagsFromString, getHeapSpaceStatistics } = require('node:v8');
      for (const flag of ${JSON.stringify(flags)}) setFlagsFromString(flag);
      let kept = [];
      for (let round = 0; round < 400; round++) {
        const batch = [];
        for (let i = 0; i < 2000; i++) batch.push({ port: i, address: '127.0.0.1', inode: round * 2000 + i, text: 'x'.repeat(32) + i });
        kept.push(batch);
        if (kept.length > 8) kept.shift();
      }
      const young = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
      console.log(young.space_size);`;
    const run = (flags: string[]): number => {
      const r = spawnSync(process.execPath, ['-e', script(flags)], { encoding: 'utf8', timeout: 60_000 });
      return Number(r.stdout.trim());
    };
    const withFlags = run(heapFlagsOf('watching'));
    const without = run(heapFlagsOf('moving-bytes'));
    expect(withFlags).toBeGreaterThan(0);
    expect(withFlags).toBeLessThanOrEqual(2 * 1024 * 1024);
    expect(without).toBeGreaterThan(withFlags * 2); // the default grows: the check above can fail
  });

  it('keep the old generation small under churn: its collection starts near what the last one kept', () => {
    // Objects that live a while (20 rounds, as a watcher's listeners live a second under
    // churn) outlive the young generation and die in the old one; the peak of old space used.
    // Each phase sets its flags, then churns; the peak of the last phase is printed.
    const script = (phases: string[][]): string => `
      const { setFlagsFromString, getHeapSpaceStatistics } = require('node:v8');
      let peak = 0;
      for (const flags of ${JSON.stringify(phases)}) {
        for (const flag of flags) setFlagsFromString(flag);
        const kept = [];
        peak = 0;
        for (let round = 0; round < 3000; round++) {
          const batch = [];
          for (let i = 0; i < 300; i++) batch.push({ port: i, inode: round * 300 + i, text: 'x'.repeat(48) + i, process: { pid: i, command: 'server ' + i } });
          kept.push(batch);
          if (kept.length > 20) kept.shift();
          const old = getHeapSpaceStatistics().find((s) => s.space_name === 'old_space');
          peak = Math.max(peak, old.space_used_size);
        }
      }
      console.log(peak);`;
    const peakMb = (...phases: string[][]): number => {
      const r = spawnSync(process.execPath, ['-e', script(phases)], { encoding: 'utf8', timeout: 60_000 });
      return Number(r.stdout.trim()) / 1024 / 1024;
    };
    const watching = heapFlagsOf('watching');
    const withFlags = peakMb(watching);
    // The same young generation with incremental marking off: nothing starts the collection.
    const unmarked = peakMb([...watching, '--no-incremental-marking']);
    // serve after its last tunnel closed: churn while moving bytes, then watching again, at run
    // time. (The young generation keeps what it grew to meanwhile, so more dies young: this
    // shows the old generation stays bounded after the switch, not that marking came back.)
    const switchedBack = peakMb(heapFlagsOf('moving-bytes'), watching);
    expect(withFlags).toBeGreaterThan(0);
    expect(withFlags).toBeLessThan(48);
    expect(switchedBack).toBeLessThan(48);
    expect(unmarked).toBeGreaterThan(withFlags * 3); // what the flags avoid: the checks above can fail
  });

  it('are set before loading for commands that run for long, after it for quick ones', () => {
    const argv = (...args: string[]): string[] => ['node', 'main.js', ...args];
    for (const quick of ['list', 'ls', 'wait', 'kill', 'completion', 'help']) expect(flagsBeforeLoading(argv(quick, '3000'))).toBe(false);
    for (const long of ['watch', 'serve', 'run', 'mcp', 'forward']) expect(flagsBeforeLoading(argv(long))).toBe(true);
    expect(flagsBeforeLoading(argv())).toBe(true); // bare portwatch watches
    expect(flagsBeforeLoading(argv('--log-level', 'debug', 'list'))).toBe(true); // options first: cannot tell, so long
  });

  it("keep a long-running command's young generation at 2 × 1 MB from the start: loading does not grow it", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pw-heap-'));
    try {
      const preload = join(dir, 'young.cjs');
      writeFileSync(
        preload,
        "process.on('exit', () => { const s = require('node:v8').getHeapSpaceStatistics().find((x) => x.space_name === 'new_space'); " +
          "process.stderr.write('new space ' + s.space_size + '\\n'); });\n",
      );
      const cli = startCli(['watch', '--trigger', 'poll'], { NODE_OPTIONS: `--require ${preload}` });
      await waitFor(() => cli.stderr().includes('watching'), 'watch to start', 10_000);
      cli.child.kill('SIGINT');
      await cli.exited;
      const size = Number(/new space (\d+)/.exec(cli.stderr())?.[1]);
      expect(size).toBeGreaterThan(0);
      expect(size).toBeLessThanOrEqual(2 * 1024 * 1024);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
