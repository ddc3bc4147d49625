/**
 * What a quiet tick costs, counted rather than timed: with thousands of listeners and
 * nothing changing, a scan builds no listener key (the string identity of a listener), so
 * the watcher's own work stays O(N) with a small constant and its poll interval follows.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Listener, PortEvent } from '../../src/listener.js';
import { Scanner } from '../../src/scan.js';
import { diffListeners } from '../../src/watch/diff.js';
import { watch, type PortWatcher } from '../../src/watch/watcher.js';
import { holdSockets, netnsSupport, stopAll, waitFor, type Holder } from '../helpers/processes.js';

// The real listenerKey, counted: every call from src/ goes through this wrapper.
const keys = vi.hoisted(() => ({ built: 0 }));
vi.mock('../../src/listener.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/listener.js')>();
  return {
    ...real,
    listenerKey: (l: Parameters<typeof real.listenerKey>[0]): string => {
      keys.built++;
      return real.listenerKey(l);
    },
  };
});

const N = 5_000;

const listener = (port: number, inode: number, address = '127.0.0.1'): Listener => ({
  protocol: 'tcp',
  family: 4,
  address,
  port,
  dualStack: false,
  interface: null,
  inode,
  uid: 0,
  netns: '1',
  process: null,
});

/** Fresh objects every call, as a source that knows nothing of the last scan makes them. */
const snapshot = (from: number, to: number): Listener[] =>
  Array.from({ length: to - from }, (_, i) => listener(1 + ((from + i) % 60_000), 1_000 + from + i));

beforeEach(() => {
  keys.built = 0;
});

describe('diffListeners at scale', () => {
  it(`diffs ${N.toLocaleString('en')} listeners without building a single key`, () => {
    const d = diffListeners(snapshot(0, N), snapshot(1, N + 1));
    expect(d.closed.map((l) => l.inode)).toEqual([1_000]);
    expect(d.opened.map((l) => l.inode)).toEqual([1_000 + N]);
    expect(keys.built).toBe(0);
  });

  it('keys only the listeners of an inode several share (0: kernel sockets), and still diffs them by identity', () => {
    const shared = (ports: number[]) => ports.map((p) => listener(p, 0));
    const d = diffListeners([...snapshot(0, N), ...shared([1, 2, 3])], [...shared([2, 3, 4]), ...snapshot(0, N)]);
    expect(d.closed.map((l) => `${l.inode}:${l.port}`)).toEqual(['0:1']);
    expect(d.opened.map((l) => `${l.inode}:${l.port}`)).toEqual(['0:4']);
    expect(keys.built).toBeLessThanOrEqual(4 * 6);
  });
});

describe(`a watcher over ${N.toLocaleString('en')} real listeners`, () => {
  let holder: Holder | null = null;
  let watcher: PortWatcher | null = null;
  afterEach(async () => {
    await watcher?.close();
    watcher = null;
    holder = null;
    await stopAll();
  });

  /** A holder of N loopback TCP listeners in a network namespace of its own: nothing else changes there. */
  async function manyListeners(): Promise<Holder> {
    const h = await holdSockets([], { netns: true });
    for (let i = 0; i < N; i++) await h.open({ proto: 'tcp', host: '127.0.0.1' });
    return h;
  }

  it('builds no key on a quiet tick, and one new socket costs a few keys, not N', async (ctx) => {
    const support = netnsSupport();
    if (!support.ok) {
      console.warn(`skipped: ${support.reason}`);
      ctx.skip();
      return;
    }
    holder = await manyListeners();
    let scans = 0;
    const events: PortEvent[] = [];
    watcher = watch({ netnsPid: holder.pid, trigger: 'poll', interval: 20 });
    watcher.on('scan', () => scans++);
    watcher.on('open', (e) => events.push(e));
    watcher.on('close', (e) => events.push(e));
    const initial = await watcher.whenReady();
    expect(initial).toHaveLength(N);

    keys.built = 0;
    const from = scans;
    await waitFor(() => scans >= from + 3, 'three quiet scans', 30_000);
    expect(keys.built).toBe(0);
    expect(events).toEqual([]);

    keys.built = 0;
    const { port } = await holder.open({ proto: 'tcp', host: '127.0.0.1' });
    await waitFor(() => events.length > 0, 'the open event', 30_000);
    expect(events.map((e) => `${e.type} ${e.listener.port}`)).toEqual([`open ${port}`]);
    expect(keys.built).toBeLessThanOrEqual(4);
  }, 120_000);

  it('hands out the same listener objects, in the same order, while nothing changes', async (ctx) => {
    const support = netnsSupport();
    if (!support.ok) {
      console.warn(`skipped: ${support.reason}`);
      ctx.skip();
      return;
    }
    holder = await manyListeners();
    const scanner = new Scanner({ netnsPid: holder.pid });
    try {
      const first = (await scanner.scan()).listeners;
      const second = (await scanner.scan()).listeners;
      expect(first).toHaveLength(N);
      expect(second).toHaveLength(N);
      expect(second.every((l, i) => l === first[i])).toBe(true);
      expect(second).not.toBe(first); // a copy: the caller may keep or change the array
      await holder.close(0);
      const third = (await scanner.scan()).listeners;
      expect(third).toHaveLength(N - 1);
      const handedOut = new Set(first);
      expect(third.every((l) => handedOut.has(l))).toBe(true);
    } finally {
      scanner.close();
    }
  }, 120_000);
});
