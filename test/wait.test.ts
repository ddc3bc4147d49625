import { afterEach, describe, expect, it } from 'vitest';
import { PortwatchError } from '../src/errors.js';
import type { Source } from '../src/sources/source.js';
import { waitForPort } from '../src/wait.js';
import { LAST_LOOK_MS } from '../src/wait-deadline.js';
import type { TickEvent } from '../src/watch/watch-types.js';
import { holdSockets, stopAll, waitFor } from './helpers/processes.js';
import { unusedPort } from './helpers/sockets.js';

afterEach(stopAll);

describe('waitForPort', () => {
  it.each(['127.0.0.1', '::1', '0.0.0.0', '::'])('finds a listener on %s', async (host) => {
    const holder = await holdSockets([]);
    const port = await unusedPort(host.includes(':') ? '::1' : '127.0.0.1');
    const waiting = waitForPort(port, { timeout: 10_000, interval: 20 });
    await holder.open({ proto: 'tcp', host, port });
    const found = await waiting;
    expect(found.map((l) => [l.address, l.port, l.process?.pid])).toEqual([[host, port, holder.pid]]);
  });

  it('waits for every port of a list, and can wait for UDP', async () => {
    const holder = await holdSockets([]);
    const [a, b] = [await unusedPort(), await unusedPort()];
    const waiting = waitForPort([a, b], { protocol: 'udp', timeout: 10_000, interval: 20 });
    await holder.open({ proto: 'udp', host: '127.0.0.1', port: a });
    await holder.open({ proto: 'tcp', host: '127.0.0.1', port: b }); // wrong protocol: not enough
    await holder.open({ proto: 'udp', host: '::1', port: b });
    const found = await waiting;
    expect(found.map((l) => `${l.protocol} ${l.port}`).sort()).toEqual([`udp ${a}`, `udp ${b}`].sort());
  });

  it('resolves at once for a port that already listens', async () => {
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
    const found = await waitForPort(holder.ports[0] as number, { timeout: 5_000 });
    expect(found).toHaveLength(1);
  });

  it('times out naming the missing ports', async () => {
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
    const missing = await unusedPort();
    const err = await waitForPort([holder.ports[0] as number, missing], { timeout: 300, interval: 20 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PortwatchError);
    expect((err as PortwatchError).code).toBe('ETIMEOUT');
    expect((err as Error).message).toBe(`timed out after 300 ms waiting for tcp port ${missing}`);
  });

  it('looks once more at the deadline: a port that opened since a slow scan is found, not timed out', async () => {
    const holder = await holdSockets([]);
    const port = await unusedPort();
    // Polling every 5 s: after the first scan, the next one would come long after the deadline.
    const waiting = waitForPort(port, { timeout: 1_000, interval: 5_000, trigger: 'poll' });
    await new Promise((r) => setTimeout(r, 300));
    await holder.open({ proto: 'tcp', host: '127.0.0.1', port });
    const found = await waiting;
    expect(found.map((l) => [l.port, l.process?.pid])).toEqual([[port, holder.pid]]);
  });

  it('answers at its deadline even while a slow scan is in flight (a cold /proc walk on a busy host)', async () => {
    let scans = 0;
    let release: () => void = () => {};
    const slow: Source = {
      name: 'procfs',
      scan: async () => {
        // The first scan is quick; the next one stalls until the test lets it go.
        if (scans++ === 0) return [];
        await new Promise<void>((r) => (release = r));
        return [];
      },
    };
    const started = Date.now();
    const err = await waitForPort(await unusedPort(), { timeout: 300, interval: 20, trigger: 'poll', source: slow }).catch(
      (e: unknown) => e,
    );
    const elapsed = Date.now() - started;
    release();
    expect((err as PortwatchError).code).toBe('ETIMEOUT');
    expect(scans).toBeGreaterThanOrEqual(2);
    // The deadline, then one last look that the stuck scan holds up for LAST_LOOK_MS at most.
    expect(elapsed).toBeLessThan(300 + LAST_LOOK_MS + 250);
  });

  it('closed: resolves once none of the ports listens any more, and times out while one does', async () => {
    const holder = await holdSockets([
      { proto: 'tcp', host: '127.0.0.1' },
      { proto: 'tcp', host: '::1' },
    ]);
    const [a, b] = holder.ports as [number, number];
    const err = await waitForPort([a, b], { closed: true, timeout: 300, interval: 20 }).catch((e: unknown) => e);
    expect((err as PortwatchError).code).toBe('ETIMEOUT');
    expect((err as Error).message).toBe(`timed out after 300 ms waiting for tcp ports ${a}, ${b} to close`);
    const waiting = waitForPort([a, b], { closed: true, timeout: 10_000, interval: 20 });
    let done = false;
    void waiting.then(() => (done = true));
    await holder.close(0);
    await new Promise((r) => setTimeout(r, 200));
    expect(done).toBe(false); // b still listens
    await holder.close(1);
    await expect(waiting).resolves.toEqual([]);
  });

  it('stops on an AbortSignal', async () => {
    const controller = new AbortController();
    const waiting = waitForPort(await unusedPort(), { signal: controller.signal });
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'EABORTED' });
  });

  it('walks /proc for no owner on another port, and names the owner of the port it waits for', async () => {
    // Another process's listener, there before: waiting for a different port has no use for its owner.
    const other = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
    const port = await unusedPort();
    const ticks: TickEvent[] = [];
    const waiting = waitForPort(port, { timeout: 10_000, trigger: 'poll', interval: 20, onTick: (t) => ticks.push(t) });
    // The poller scans when the table changes: other processes' sockets opening on other ports.
    await waitFor(() => ticks.length >= 1, 'the first scan');
    for (let n = 2; n <= 3; n++) {
      await other.open({ proto: 'tcp', host: '127.0.0.1' });
      await waitFor(() => ticks.length >= n, `scan ${n}`);
    }
    expect(ticks.map((t) => t.walks)).toEqual(ticks.map(() => 0));
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1', port }]);
    const found = await waiting;
    expect(found.map((l) => [l.port, l.process?.pid, l.holders])).toEqual([[port, holder.pid, [{ pid: holder.pid, name: 'python3' }]]]);
    expect(other.ports[0]).not.toBe(port);
  });

  it("narrows a select of the caller's own, and refuses one that is not a function", async () => {
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
    const port = holder.ports[0] as number;
    await holder.open({ proto: 'tcp', host: '::1', port });
    const found = await waitForPort(port, { timeout: 5_000, interval: 20, select: (s) => s.family === 6 });
    expect(found.map((l) => [l.address, l.process?.pid])).toEqual([['::1', holder.pid]]);
    await expect(waitForPort(port, { select: 1 as unknown as () => boolean })).rejects.toMatchObject({ code: 'EUSAGE' });
  });

  it('rejects bad ports', async () => {
    await expect(waitForPort(0)).rejects.toMatchObject({ code: 'EUSAGE' });
    await expect(waitForPort([])).rejects.toMatchObject({ code: 'EUSAGE' });
  });
});
