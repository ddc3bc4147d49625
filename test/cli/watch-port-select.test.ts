/**
 * `watch --port SPEC` attributes only the sockets on those ports: on a host with other
 * listeners its scans walk /proc for no owner until a watched port opens, and the open
 * line still names the owner. Observed through --log-level debug (one line per scan, with
 * its owner walks), the built CLI, real processes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { debugScans, startCli, type LiveCli, stopClis } from '../helpers/cli.js';
import { holdSockets, stopAll, waitFor } from '../helpers/processes.js';
import { unusedPort } from '../helpers/sockets.js';

const live: LiveCli[] = [];
afterEach(async () => {
  await stopClis(live);
  await stopAll();
});

describe('watch with a port filter', () => {
  it.each([
    ['--port', (p: number) => ['--port', `${p},${p + 1}`]],
    ['ports as arguments', (p: number) => [`:${p}`]],
  ])('%s: walks /proc for no other socket, and names the owner of the one that opens', async (_how, ports) => {
    const other = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]); // another process's listener
    const port = await unusedPort();
    const c = startCli(['watch', '--json', '--trigger', 'poll', '--interval', '20ms', '--log-level', 'debug', ...ports(port)]);
    live.push(c);
    // The poller scans when the table changes: other processes' sockets opening on other ports.
    await waitFor(() => debugScans(c.stderr()).length >= 1, 'the first scan in the debug log');
    for (let n = 2; n <= 3; n++) {
      await other.open({ proto: 'tcp', host: '127.0.0.1' });
      await waitFor(() => debugScans(c.stderr()).length >= n, `scan ${n} in the debug log`);
    }
    expect(debugScans(c.stderr()).map((s) => s.walks)).toEqual(debugScans(c.stderr()).map(() => 0));
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1', port }]);
    await waitFor(() => c.stdout().includes(`"port":${port}`), 'the open line');
    const open = JSON.parse(c.stdout().trim().split('\n').at(-1) as string) as {
      type: string;
      listener: { port: number; process: { pid: number } | null; holders: { pid: number }[] };
    };
    expect([open.type, open.listener.port, open.listener.process?.pid, open.listener.holders.map((h) => h.pid)]).toEqual([
      'open',
      port,
      holder.pid,
      [holder.pid],
    ]);
    expect(c.stdout()).not.toContain(`"port":${other.ports[0]}`);
  });
});
