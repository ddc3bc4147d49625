/**
 * `watch --port SPEC` attributes only the sockets on those ports: on a host with other
 * listeners its scans walk /proc for no owner until a watched port opens, and the open
 * line still names the owner. Observed through --log-level debug (one line per scan, with
 * its owner walks), the built CLI, real processes.
 */
import { createServer, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startCli, type LiveCli } from '../helpers/cli.js';
import { holdSockets, stopAll, waitFor } from '../helpers/processes.js';

const live: LiveCli[] = [];
afterEach(async () => {
  for (const c of live.splice(0)) {
    if (c.child.exitCode === null && c.child.signalCode === null) process.kill(c.child.pid as number, 'SIGTERM');
    await c.exited;
  }
  await stopAll();
});

async function unusedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** The debug log's scan lines. */
function scans(stderr: string): { reason: string; walks: number }[] {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { msg: string; reason: string; walks: number })
    .filter((l) => l.msg === 'scan');
}

describe('watch with a port filter', () => {
  it.each([
    ['--port', (p: number) => ['--port', `${p},${p + 1}`]],
    ['ports as arguments', (p: number) => [`:${p}`]],
  ])('%s: walks /proc for no other socket, and names the owner of the one that opens', async (_how, ports) => {
    const other = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]); // another process's listener
    const port = await unusedPort();
    const c = startCli(['watch', '--json', '--trigger', 'poll', '--interval', '20ms', '--log-level', 'debug', ...ports(port)]);
    live.push(c);
    await waitFor(() => scans(c.stderr()).length >= 3, 'three scans in the debug log');
    expect(scans(c.stderr()).map((s) => s.walks)).toEqual(scans(c.stderr()).map(() => 0));
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
