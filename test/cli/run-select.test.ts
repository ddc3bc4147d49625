/**
 * `portwatch run` attributes no socket that existed before it spawned the command (none can
 * be the command's), so on a busy host the command starts after one socket-table read, not
 * after a walk over every process's fds; the command's own listener is still named.
 * Observed through --log-level debug (one line per scan, with its owner walks).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { debugScans } from '../helpers/cli.js';
import { holdSockets, stopAll, waitFor } from '../helpers/processes.js';
import { FAMILY, grandchildren, startRun, stopRuns } from '../run/run-cli.js';

afterEach(async () => {
  await stopRuns();
  await stopAll();
});

describe('portwatch run: sockets from before the command', () => {
  it('are not looked up: the first scan walks /proc for no owner, and the grandchild is still named', async () => {
    const before = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]); // another process's listener, there first
    const run = startRun([
      'run',
      '--trigger',
      'poll',
      '--interval',
      '50ms',
      '--log-level',
      'debug',
      '--',
      process.execPath,
      FAMILY,
      'tree',
    ]);
    const gc = await waitFor(() => grandchildren(run.stdout())[0], 'the grandchild to listen');
    await waitFor(() => run.stderr().includes(`:${gc.port} node (pid ${gc.pid})`), 'the + line naming the grandchild');
    const scans = debugScans(run.stderr());
    expect(scans[0]).toMatchObject({ reason: 'first', walks: 0 });
    expect(run.stderr()).not.toContain(`:${before.ports[0]} `);
    run.child.kill('SIGTERM');
    expect((await run.exited).code).toBe(42);
  });
});
