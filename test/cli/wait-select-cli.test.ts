/**
 * `portwatch wait` with several targets attributes only the sockets that could serve them: on
 * a host with other listeners its scans walk /proc for no owner while it waits, and the table
 * it prints at the end still names the owners. Observed through --log-level debug.
 */
import { userInfo } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import type { Listener } from '../../src/listener.js';
import { debugScans, runCli, startCli, type LiveCli, stopClis } from '../helpers/cli.js';
import { holdSockets, stopAll, waitFor } from '../helpers/processes.js';
import { unusedPort } from '../helpers/sockets.js';

const live: LiveCli[] = [];
afterEach(async () => {
  await stopClis(live);
  await stopAll();
});

describe('wait with several targets', () => {
  it('walks /proc for no other socket while it waits, and prints the owners of what it waited for', async () => {
    const other = await holdSockets([
      { proto: 'tcp', host: '127.0.0.1' },
      { proto: 'udp', host: '127.0.0.1' },
    ]);
    const [a, b] = [await unusedPort(), await unusedPort()];
    const c = startCli([
      'wait',
      `${a}`,
      `udp:127.0.0.1:${b}`,
      '--json',
      '--timeout',
      '15s',
      '--trigger',
      'poll',
      '--interval',
      '20ms',
      '--log-level',
      'debug',
    ]);
    live.push(c);
    // The poller scans when the table changes: other processes' sockets opening on other ports.
    await waitFor(() => debugScans(c.stderr()).length >= 1, 'the first scan in the debug log');
    for (let n = 2; n <= 3; n++) {
      await other.open({ proto: 'tcp', host: '127.0.0.1' });
      await waitFor(() => debugScans(c.stderr()).length >= n, `scan ${n} in the debug log`);
    }
    expect(debugScans(c.stderr()).map((s) => s.walks)).toEqual(debugScans(c.stderr()).map(() => 0));
    const holder = await holdSockets([
      { proto: 'tcp', host: '::', port: a },
      { proto: 'udp', host: '127.0.0.1', port: b },
    ]);
    expect(await c.exited).toEqual({ code: 0, signal: null });
    const found = JSON.parse(c.stdout()) as Listener[];
    expect(found.map((l) => [l.protocol, l.port, l.process?.pid]).sort()).toEqual(
      [
        ['tcp', a, holder.pid],
        ['udp', b, holder.pid],
      ].sort(),
    );
    expect(found.map((l) => l.port)).not.toContain(other.ports[0]);
  });

  it('names the owner’s user in the USER column, as list does', async () => {
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
    const port = holder.ports[0] as number;
    const r = await runCli(['wait', String(port), '--timeout', '10s']);
    expect(r.code).toBe(0);
    const row = r.stdout.split('\n').find((l) => l.includes(`:${port} `));
    expect(row?.split(/\s+/).slice(2, 4)).toEqual([String(holder.pid), userInfo().username]);
  });
});
