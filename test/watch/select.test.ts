/**
 * `select`: a watcher asked about one port reads no owner of any other socket, so its first
 * scan costs no walk of /proc however busy the host, and what it selects still carries its owner.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { PortEvent } from '../../src/listener.js';
import { watch, type PortWatcher, type TickEvent } from '../../src/watch/watcher.js';
import { holdSockets, stopAll, waitFor } from '../helpers/processes.js';
import { unusedPort } from '../helpers/sockets.js';

const watchers: PortWatcher[] = [];
afterEach(async () => {
  await Promise.all(watchers.splice(0).map((w) => w.close()));
  await stopAll();
});

describe('PortWatcher select', () => {
  it('walks /proc for no socket it was not asked about, and reports the one it was with its owner', async () => {
    const other = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]); // listening before: not selected
    const port = await unusedPort();
    const w = watch({ trigger: 'poll', interval: 50, select: (s) => s.port === port });
    watchers.push(w);
    const ticks: TickEvent[] = [];
    const opens: PortEvent[] = [];
    w.on('tick', (t) => ticks.push(t));
    w.on('open', (e) => opens.push(e));
    expect(await w.whenReady()).toEqual([]);
    await waitFor(() => ticks.length >= 1, 'the first tick');
    expect(ticks[0]?.walks).toBe(0);
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1', port }]);
    await waitFor(() => opens.length > 0, 'the open');
    expect(opens.map((e) => [e.listener.port, e.listener.process?.pid])).toEqual([[port, holder.pid]]);
    expect(w.snapshot().some((l) => l.port === other.ports[0])).toBe(false);
  });

  it('is refused when it is not a function', () => {
    expect(() => watch({ select: 1 as unknown as () => boolean })).toThrow(expect.objectContaining({ code: 'EUSAGE' }));
  });
});
