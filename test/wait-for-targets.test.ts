/**
 * waitForTargets() with several targets on a host with other listeners: only sockets that
 * could serve a target are attributed, so the scans before the targets listen walk /proc for
 * no owner, and what is found still carries its owner. Real processes, real sockets.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { waitForTargets } from '../src/wait-for-targets.js';
import { parseWaitTargets } from '../src/wait-targets.js';
import type { TickEvent } from '../src/watch/watch-types.js';
import { holdSockets, stopAll, waitFor } from './helpers/processes.js';
import { unusedPort } from './helpers/sockets.js';

afterEach(stopAll);

describe('waitForTargets', () => {
  it('walks /proc for no owner of a socket no target is on, and names the owners of those it waits for', async () => {
    const other = await holdSockets([
      { proto: 'tcp', host: '127.0.0.1' },
      { proto: 'udp', host: '127.0.0.1' },
    ]);
    const [a, b] = [await unusedPort(), await unusedPort()];
    const targets = parseWaitTargets([`tcp:localhost:${a}`, `http://127.0.0.1:${b}/health`]);
    const ticks: TickEvent[] = [];
    const waiting = waitForTargets(targets, { timeout: 15_000, trigger: 'poll', interval: 20, onTick: (t) => ticks.push(t) });
    // The poller scans when the table changes: other processes' sockets opening on other ports.
    await waitFor(() => ticks.length >= 1, 'the first scan');
    for (let n = 2; n <= 3; n++) {
      await other.open({ proto: 'tcp', host: '127.0.0.1' });
      await waitFor(() => ticks.length >= n, `scan ${n}`);
    }
    expect(ticks.map((t) => t.walks)).toEqual(ticks.map(() => 0));
    const holder = await holdSockets([
      { proto: 'tcp', host: '::1', port: a },
      { proto: 'tcp', host: '127.0.0.1', port: b, serve: 'http' },
    ]);
    const { listeners, answers } = await waiting;
    expect(listeners.map((l) => [l.address, l.port, l.process?.pid]).sort()).toEqual(
      [
        ['::1', a, holder.pid],
        ['127.0.0.1', b, holder.pid],
      ].sort(),
    );
    expect(answers).toEqual([{ url: `http://127.0.0.1:${b}/health`, status: 200 }]);
    expect(other.ports).not.toContain(a);
  });

  it('looks once more at the deadline (`wait PORT --interval 10s --timeout 4s` on a port that opened meanwhile)', async () => {
    const holder = await holdSockets([]);
    const port = await unusedPort();
    const waiting = waitForTargets(parseWaitTargets([String(port)]), { timeout: 1_000, interval: 5_000, trigger: 'poll' });
    await new Promise((r) => setTimeout(r, 300));
    await holder.open({ proto: 'tcp', host: '127.0.0.1', port });
    const { listeners } = await waiting;
    expect(listeners.map((l) => [l.port, l.process?.pid])).toEqual([[port, holder.pid]]);
  });
});
