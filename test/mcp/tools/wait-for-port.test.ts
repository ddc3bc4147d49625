import { afterEach, describe, expect, it } from 'vitest';
import { scan } from '../../../src/scan.js';
import { holdManyFds, type FdHogs } from '../../helpers/fd-hogs.js';
import { call, closeMcp, connectStdio } from '../../helpers/mcp-client.js';
import { holdSockets, stopAll } from '../../helpers/processes.js';

const hogs: FdHogs[] = [];
afterEach(async () => {
  await closeMcp();
  await Promise.all(hogs.splice(0).map((h) => h.stop()));
  await stopAll();
});

/** connectStdio starts the server with --interval 50ms: wait_for_port looks every 50 ms. */
const INTERVAL_MS = 50;
/** Process start-up aside, what a round trip over stdio and a busy event loop may add. */
const SLACK_MS = 400;

async function unusedPort(): Promise<number> {
  const holder = await holdSockets([]);
  const { index, port } = await holder.open({ proto: 'tcp', host: '127.0.0.1' });
  await holder.close(index);
  return port;
}

describe('wait_for_port: the timeout holds', () => {
  it('answers within one interval of timeout_ms, even while the first scan of a busy host is still walking /proc', async (ctx) => {
    const port = await unusedPort();
    const hog = await holdManyFds(100_000);
    hogs.push(hog);
    // A first scan finds every owner by walking /proc/PID/fd (newest process first, so these fds first).
    const cold = (await scan()).durationMs;
    const bound = (timeout: number): number => timeout + INTERVAL_MS + SLACK_MS;
    if (cold < 2 * bound(300))
      ctx.skip(`a first scan takes ${Math.round(cold)} ms here even with ${hog.fds} open fds: too fast to show an overrun`);

    const client = await connectStdio(); // its own first scans start now, and take about `cold` ms
    for (const timeout of [300, 0]) {
      const started = performance.now();
      const r = await call(client, 'wait_for_port', { port, timeout_ms: timeout });
      const elapsed = performance.now() - started;
      expect(r).toMatchObject({ status: 'timeout', port });
      expect(elapsed, `timeout_ms ${timeout}; a cold scan takes ${Math.round(cold)} ms`).toBeLessThan(bound(timeout));
      expect(r.waited_ms).toBeGreaterThanOrEqual(timeout);
    }
  });

  it('with timeout_ms 0, looks once: a port that listens is found', async () => {
    const holder = await holdSockets([{ proto: 'tcp', host: '::1' }]);
    const port = holder.ports[0] as number;
    const client = await connectStdio();
    await call(client, 'list_listening_ports', { port }); // the server's first scan is done
    const r = await call(client, 'wait_for_port', { port, timeout_ms: 0 });
    expect(r).toMatchObject({ status: 'listening', port, listeners: [{ address: '::1', port, process: { pid: holder.pid } }] });
  });
});
