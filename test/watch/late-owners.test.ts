/**
 * A listener that opens while the watcher's owner search is still running (a first walk over
 * a busy host's fds takes ~0.4 s) is reported at once, and the owners that search finds follow
 * as `update`. The search is the real one (socket-owners.ts) with its first look held until
 * the test lets it go, so "still running" does not depend on the machine's speed; sockets,
 * processes and hints are real (tracefs too, as root).
 */
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import type { Listener, PortEvent } from '../../src/listener.js';
import { WALK_HOLD_MS, type OwnerSearch } from '../../src/owner-searches.js';
import { nativeWalkUnavailableReason } from '../../src/owners/native-walk.js';
import { loadSockDiagAddon } from '../../src/sources/sock-diag-addon.js';
import type { UpdateEvent } from '../../src/watch/watch-types.js';
import { PortWatcher, type TickEvent, type WatchOptions } from '../../src/watch/watcher.js';
import { handTrigger, heldFirstSearch, withOwnerSearch } from '../helpers/late-owners.js';
import { holdSockets, stopAll, waitFor } from '../helpers/processes.js';
import { requireTracefs } from '../helpers/tracefs.js';

const addon = loadSockDiagAddon() as { fdWalkHold?: (ms: number) => void } | null;
/** The native walk's hold (native/fd-walk-hold.c), watched; null without the native walk (nothing to hold). */
let holds: MockInstance<(ms: number) => void> | null = null;

const watchers: PortWatcher[] = [];
beforeEach(() => {
  if (addon?.fdWalkHold !== undefined && nativeWalkUnavailableReason() === null)
    holds = vi.spyOn(addon as Required<typeof addon>, 'fdWalkHold');
});
afterEach(async () => {
  holds?.mockRestore();
  holds = null;
  await Promise.all(watchers.splice(0).map((w) => w.close()));
  await stopAll();
});

interface Seen {
  order: string[];
  ready: Listener[] | null;
  opens: PortEvent[];
  updates: UpdateEvent[];
  ticks: TickEvent[];
}

function watching(options: WatchOptions, owners: OwnerSearch): { w: PortWatcher; seen: Seen } {
  const w = withOwnerSearch(owners, () => new PortWatcher({ interval: 60_000, ...options }));
  watchers.push(w);
  const seen: Seen = { order: [], ready: null, opens: [], updates: [], ticks: [] };
  w.on('ready', (l) => {
    seen.ready = l;
    seen.order.push('ready');
  });
  w.on('open', (e) => {
    seen.opens.push(e);
    seen.order.push(`open ${e.listener.port}`);
  });
  w.on('update', (e) => {
    seen.updates.push(e);
    seen.order.push(`update ${e.listener.port}`);
  });
  w.on('tick', (t) => seen.ticks.push(t));
  return { w, seen };
}

describe('owners found after their listener', () => {
  it('a listener that opens during a long owner search is reported at once; the search’s owners follow as update', async () => {
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
    const first = holder.ports[0] as number;
    const ports = new Set([first]);
    const search = heldFirstSearch();
    const hand = handTrigger();
    const { w, seen } = watching({ trigger: hand.trigger, filter: (l) => l.address === '127.0.0.1' && ports.has(l.port) }, search.owners);
    await search.started; // the first scan is looking for owners, and will until released

    const { port } = await holder.open({ proto: 'tcp', host: '127.0.0.1' });
    ports.add(port);
    hand.hint({ kind: 'listen', port, tid: holder.pid });
    await waitFor(() => seen.opens.find((e) => e.listener.port === port), 'the open of the listener that came during the search');
    // The search's walk stood aside for the scan that reported the new listener, then went on.
    if (holds !== null) {
      await waitFor(() => holds!.mock.calls.length === 2, 'the hold on the walk, then its release');
      expect(holds.mock.calls).toEqual([[WALK_HOLD_MS], [0]]);
    }

    expect(seen.order).toEqual(['ready', `open ${port}`]);
    expect(seen.ready?.map((l) => [l.port, l.process])).toEqual([[first, null]]);
    expect(seen.opens[0]?.listener.process?.pid).toBe(holder.pid);
    expect(seen.ticks[0]).toMatchObject({ reason: 'first', ownersPending: expect.any(Number) });
    expect(seen.ticks[0]?.ownersPending).toBeGreaterThanOrEqual(1);

    search.release();
    const update = await waitFor(() => seen.updates.find((e) => e.listener.port === first), 'the update with the first owner');
    expect(update.listener.process?.pid).toBe(holder.pid);
    expect(seen.order).toEqual(['ready', `open ${port}`, `update ${first}`]);
    expect(w.snapshot().find((l) => l.port === first)?.process?.pid).toBe(holder.pid);
    // Once: later scans have nothing more to tell about it.
    w.rescan();
    await waitFor(() => seen.ticks.length >= 4, 'two more scans');
    expect(seen.updates).toHaveLength(1);
  });

  it('a filter that needs the owner gets the listener as an open once its owner is found, never as an update', async () => {
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
    const first = holder.ports[0] as number;
    const ports = new Set([first]);
    const search = heldFirstSearch();
    const hand = handTrigger();
    const filter = (l: Listener): boolean => l.process?.pid === holder.pid && ports.has(l.port);
    const { seen } = watching({ trigger: hand.trigger, filter }, search.owners);
    await search.started;
    const { port } = await holder.open({ proto: 'tcp', host: '127.0.0.1' });
    ports.add(port);
    hand.hint({ kind: 'listen', port, tid: holder.pid });
    await waitFor(() => seen.opens.find((e) => e.listener.port === port), 'the open of the new listener');
    search.release();
    await waitFor(() => seen.opens.find((e) => e.listener.port === first), 'the first listener, once its owner is known');
    await waitFor(() => seen.ticks.length >= 3, 'the scan after the search');
    expect(seen.order).toEqual(['ready', `open ${port}`, `open ${first}`]);
    expect(seen.updates).toEqual([]);
  });

  it('with no hint of a new listener, the first scan waits for its owners (a rescan() or a bind() elsewhere does not hurry it)', async () => {
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
    const first = holder.ports[0] as number;
    const search = heldFirstSearch();
    const hand = handTrigger();
    const { w, seen } = watching({ trigger: hand.trigger, filter: (l) => l.address === '127.0.0.1' && l.port === first }, search.owners);
    await search.started;
    w.rescan(); // as kill, free-port and the mcp tools do while they wait for a look
    hand.hint({ kind: 'bind', tid: 1 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(seen.ready).toBeNull();
    search.release();
    const ready = await w.whenReady();
    expect(ready.map((l) => l.process?.pid)).toEqual([holder.pid]);
    w.rescan();
    await waitFor(() => seen.ticks.length >= 2, 'a second scan');
    expect(seen.updates).toEqual([]);
    expect(seen.ticks[0]?.ownersPending).toBe(0);
  });

  it('tracefs: the kernel’s hint for a listen() during a long first owner search gets its open before the search ends', async (ctx) => {
    requireTracefs(ctx);
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
    const first = holder.ports[0] as number;
    const ports = new Set([first]);
    const search = heldFirstSearch();
    const { seen } = watching({ trigger: 'tracefs', filter: (l) => l.address === '127.0.0.1' && ports.has(l.port) }, search.owners);
    await search.started;

    const { port } = await holder.open({ proto: 'tcp', host: '127.0.0.1' });
    ports.add(port);
    await waitFor(() => seen.opens.find((e) => e.listener.port === port), 'the open, hinted by the kernel');
    expect(seen.opens.find((e) => e.listener.port === port)?.listener.process?.pid).toBe(holder.pid);
    expect(seen.ready?.find((l) => l.port === first)?.process).toBeNull();

    search.release();
    const update = await waitFor(() => seen.updates.find((e) => e.listener.port === first), 'the update with the first owner');
    expect(update.listener.process?.pid).toBe(holder.pid);
  });
});
