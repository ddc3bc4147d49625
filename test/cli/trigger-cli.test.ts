/** --trigger on the commands, and what --log-level debug says about each scan. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { debugScans, runCli, startCli, type LiveCli, stopClis } from '../helpers/cli.js';
import { holdSockets, stopAll, waitFor } from '../helpers/processes.js';
import { requireTracefs } from '../helpers/tracefs.js';

const live: LiveCli[] = [];
afterEach(async () => {
  await stopClis(live);
  await stopAll();
});

function readCmdline(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1');
  } catch {
    return '';
  }
}

function start(args: string[]): LiveCli {
  const c = startCli(args);
  live.push(c);
  return c;
}

describe('--trigger', () => {
  it.each([
    [['watch', '--trigger', 'kernel'], "portwatch: unknown trigger 'kernel': use one of auto, tracefs, poll\n"],
    [['list', '--trigger', ''], "portwatch: unknown trigger '': use one of auto, tracefs, poll\n"],
    [['wait', '3000', '--interval', '0ms'], 'portwatch: interval must be a positive number of milliseconds, got 0\n'],
  ])('%j: one line and status 2', async (args, line) => {
    const r = await runCli(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(line);
  });

  it('list --verbose says which trigger watch would use', async () => {
    const r = await runCli(['list', '--verbose', '--trigger', 'poll']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/ via (\w+) in .*; watch would use trigger poll(, looking from a thread of the addon)?\n/);
    // With sock_diag, polling is done by the addon's thread; with another source, by the timer.
    const source = / via (\w+) in /.exec(r.stderr)?.[1];
    expect(r.stderr.includes(', looking from a thread of the addon')).toBe(source === 'sockdiag');
  });

  it('watch --log-level debug prints each scan: source, trigger, cost, the chosen interval, owner walks', async () => {
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
    const w = start(['watch', '--trigger', 'poll', '--log-level', 'debug', '--pid', String(holder.pid)]);
    // With the poller thread the watcher's own timer scans every maxInterval (5 s).
    await waitFor(() => w.stderr().includes('"reason":"timer"'), 'a scan on the timer in the debug log', 20_000);
    expect(w.stderr()).toMatch(/^portwatch: watching 1 listener\(s\) via \w+, trigger poll; Ctrl-C to stop$/m);
    const scans = w
      .stderr()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(scans[0]).toMatchObject({ msg: 'scan', reason: 'first', trigger: 'poll', costMs: null, error: null });
    const timer = scans.find((s) => s.reason === 'timer');
    expect(timer).toMatchObject({ msg: 'scan', trigger: 'poll', source: expect.any(String), walks: expect.any(Number) });
    expect(timer?.nextMs).toBeGreaterThanOrEqual(100);
    expect(typeof timer?.estimateMs).toBe('number');
  });

  it('watch --trigger tracefs reports a new listener from a kernel event', async (ctx) => {
    requireTracefs(ctx);
    const holder = await holdSockets([]);
    const w = start(['watch', '--json', '--trigger', 'tracefs', '--log-level', 'debug', '--pid', String(holder.pid)]);
    await waitFor(() => w.stderr().includes('trigger tracefs;'), 'the watcher to be ready');
    const { port } = await holder.open({ proto: 'tcp', host: '127.0.0.1' });
    await waitFor(() => w.stdout().includes(`"port":${port}`), 'the open line');
    expect(w.stderr()).toMatch(new RegExp(`"reason":"hint".*"kind":"listen","port":${port}`));
  });

  it('wait --trigger tracefs exits without waiting for the kernel to free its instance, which is still removed', async (ctx) => {
    requireTracefs(ctx);
    const holder = await holdSockets([]);
    // A port number that is free now: taken, then let go.
    const { port } = await holder.open({ proto: 'tcp', host: '127.0.0.1' });
    await holder.close(0);
    const waiter = start(['wait', '--trigger', 'tracefs', '--timeout', '20s', String(port)]);
    const instance = `/sys/kernel/tracing/instances/portwatch-${waiter.child.pid}`;
    await waitFor(() => existsSync(instance), 'its tracefs instance');
    await holder.open({ proto: 'tcp', host: '127.0.0.1', port });
    expect((await waiter.exited).code).toBe(0);
    // Removed by the background step within a bounded time, and nothing it started lives on.
    await waitFor(() => !existsSync(instance), 'the instance to be removed', 5_000);
    // The watchdog exits right after its rmdir: gone within the deadline (CI once saw it between the two).
    const left = (): string[] => readdirSync('/proc').filter((p) => /^\d+$/.test(p) && readCmdline(p).includes(instance));
    await waitFor(() => left().length === 0, 'its watchdog to exit', 5_000);
  });

  it('wait --trigger tracefs scans for its own port alone: other ports opening and closing wake it for nothing', async (ctx) => {
    requireTracefs(ctx);
    const holder = await holdSockets([]);
    const { port } = await holder.open({ proto: 'tcp', host: '127.0.0.1' });
    await holder.close(0);
    const waiter = start(['wait', '--trigger', 'tracefs', '--timeout', '20s', '--log-level', 'debug', String(port)]);
    await waitFor(() => waiter.stderr().includes('"reason":"first"'), 'its first scan');
    for (let i = 0; i < 10; i++) {
      const other = await holder.open({ proto: 'tcp', host: '127.0.0.1' });
      await holder.close(other.index);
    }
    await holder.open({ proto: 'udp', host: '127.0.0.1' });
    await holder.open({ proto: 'tcp', host: '127.0.0.1', port });
    expect((await waiter.exited).code).toBe(0);
    const scans = debugScans(waiter.stderr()) as unknown as { reason: string; hints: { kind: string; port?: number }[] }[];
    // One scan a kernel event asked for: the listen() on its port; none for the other 21 events.
    expect(scans.filter((s) => s.reason === 'hint').map((s) => s.hints)).toEqual([[{ kind: 'listen', port, tid: holder.pid }]]);
  });
});
