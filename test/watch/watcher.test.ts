import { readdirSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { Listener, PortEvent } from '../../src/listener.js';
import { createProcNetSource } from '../../src/sources/proc-net.js';
import type { Source } from '../../src/sources/source.js';
import { PortWatcher, watch } from '../../src/watch/watcher.js';
import { holdSockets, stopAll, waitFor } from '../helpers/processes.js';

const watchers: PortWatcher[] = [];
afterEach(async () => {
  await Promise.all(watchers.splice(0).map((w) => w.close()));
  await stopAll();
});

function started(options: ConstructorParameters<typeof PortWatcher>[0]): PortWatcher {
  const w = watch({ interval: 20, ...options });
  watchers.push(w);
  return w;
}

/** Resolves after the watcher has completed `n` more scans. */
function scans(w: PortWatcher, n: number): Promise<void> {
  return new Promise((resolve) => {
    let left = n;
    const on = (): void => {
      if (--left === 0) {
        w.off('scan', on);
        resolve();
      }
    };
    w.on('scan', on);
  });
}

const summary = (e: PortEvent) => `${e.type} ${e.listener.port}`;

describe('PortWatcher', () => {
  it('reports the initial listeners as ready, then each open and close exactly once', async () => {
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
    const w = started({ filter: (l) => l.process?.pid === holder.pid });
    const events: PortEvent[] = [];
    w.on('open', (e) => events.push(e));
    w.on('close', (e) => events.push(e));
    const initial = await w.whenReady();
    expect(initial.map((l) => l.port)).toEqual(holder.ports);

    const { index, port } = await holder.open({ proto: 'udp', host: '::1' });
    await waitFor(() => events.some((e) => e.type === 'open' && e.listener.port === port), 'the open event');
    await holder.close(index);
    await waitFor(() => events.some((e) => e.type === 'close' && e.listener.port === port), 'the close event');
    await scans(w, 3);
    expect(events.map(summary)).toEqual([`open ${port}`, `close ${port}`]);
    const opened = events[0] as PortEvent;
    expect(opened.listener).toMatchObject({ protocol: 'udp', family: 6, address: '::1', process: { pid: holder.pid } });
    expect(Date.parse(opened.time)).not.toBeNaN();
    expect(w.snapshot().map((l) => l.port)).toEqual(holder.ports);
  });

  it('sees a server restarted on the same port as a close, then an open', async () => {
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
    const port = holder.ports[0] as number;
    const w = started({ filter: (l) => l.port === port });
    const events: PortEvent[] = [];
    w.on('open', (e) => events.push(e));
    w.on('close', (e) => events.push(e));
    const [before] = await w.whenReady();
    await holder.close(0);
    await holder.open({ proto: 'tcp', host: '127.0.0.1', port });
    await waitFor(() => events.some((e) => e.type === 'open'), 'the open of the new socket');
    expect(events.map(summary)).toEqual([`close ${port}`, `open ${port}`]);
    expect(events[0]?.listener.inode).toBe(before?.inode);
    expect(events[1]?.listener.inode).not.toBe(before?.inode);
  });

  it('also delivers events through for await, and ends the loop on close()', async () => {
    const holder = await holdSockets([]);
    const w = started({ filter: (l) => l.process?.pid === holder.pid });
    await w.whenReady();
    const seen: string[] = [];
    const loop = (async () => {
      for await (const e of w) {
        seen.push(summary(e));
        if (seen.length === 2) await w.close();
      }
    })();
    const { index, port } = await holder.open({ proto: 'tcp', host: '::1' });
    await waitFor(() => seen.length === 1, 'the open event in the loop');
    await holder.close(index);
    await loop;
    expect(seen).toEqual([`open ${port}`, `close ${port}`]);
  });

  it('delivers no event after close() resolves, and close() is idempotent', async () => {
    const holder = await holdSockets([]);
    const w = started({ filter: (l) => l.process?.pid === holder.pid });
    await w.whenReady();
    const late: Listener[] = [];
    w.on('open', (e) => late.push(e.listener));
    w.on('scan', () => late.push({} as Listener));
    await Promise.all([w.close(), w.close()]);
    await holder.open({ proto: 'tcp', host: '127.0.0.1' });
    await new Promise((r) => setTimeout(r, 200)); // ten intervals: a live watcher would have scanned
    expect(late).toEqual([]);
  });

  it('stops on an AbortSignal', async () => {
    const controller = new AbortController();
    const holder = await holdSockets([]);
    const w = started({ signal: controller.signal, filter: (l) => l.process?.pid === holder.pid });
    await w.whenReady();
    const late: PortEvent[] = [];
    w.on('open', (e) => late.push(e));
    controller.abort();
    await w.close();
    await holder.open({ proto: 'tcp', host: '127.0.0.1' });
    await new Promise((r) => setTimeout(r, 200));
    expect(late).toEqual([]);
  });

  it('reports a failing scan as an error event, keeps going, and recovers', async () => {
    const real = createProcNetSource();
    let failing = false;
    const flaky: Source = {
      name: 'procfs',
      scan: (target) => (failing ? Promise.reject(new Error('source broke')) : real.scan(target)),
    };
    const holder = await holdSockets([]);
    const w = started({ source: flaky, filter: (l) => l.process?.pid === holder.pid });
    const errors: Error[] = [];
    const events: PortEvent[] = [];
    w.on('error', (e) => errors.push(e));
    w.on('open', (e) => events.push(e));
    await w.whenReady();
    failing = true;
    await waitFor(() => errors.length >= 2, 'two error events');
    expect(errors[0]?.message).toBe('source broke');
    const { port } = await holder.open({ proto: 'tcp', host: '127.0.0.1' });
    failing = false;
    await waitFor(() => events.some((e) => e.listener.port === port), 'the open after recovery', 15_000);
  });

  it('never throws into the host program when nobody listens for errors', async () => {
    let attempts = 0;
    const w = started({ source: { name: 'procfs', scan: () => Promise.reject(new Error(`broken ${++attempts}`)) } });
    await waitFor(() => attempts >= 3, 'three failed scans'); // an unhandled 'error' would have crashed this test
    await w.close();
    await expect(w.whenReady()).rejects.toThrow(/closed before its first scan/);
  });
});

describe('PortWatcher resources', () => {
  it('releases the source it opened when closed, and leaves a caller-supplied source alone', async () => {
    const fds = (): number => readdirSync('/proc/self/fd').length;
    const before = fds();
    const w = watch({ interval: 20 });
    await w.whenReady();
    await w.close();
    expect(fds()).toBe(before);

    let closed = 0;
    const real = createProcNetSource();
    const mine: Source = { name: 'procfs', scan: (t) => real.scan(t), close: () => void closed++ };
    const w2 = watch({ interval: 20, source: mine });
    await w2.whenReady();
    await w2.close();
    expect(closed).toBe(0);
  });
});
