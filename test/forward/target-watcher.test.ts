/**
 * The relay serve reads under `forward --serve`: real watchers on namespaces made with
 * unshare, attached one after the other as a container's sessions are. One `ready`, the
 * attached watcher's opens and closes, every listener closed on detach, the next
 * session's listeners as opens, a detached watcher ignored, a gone target not an error.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Listener, PortEvent } from '../../src/listener.js';
import { TargetWatcher } from '../../src/forward/target-watcher.js';
import type { UpdateEvent } from '../../src/watch/watch-types.js';
import { PortWatcher as Watcher, watch, type PortWatcher } from '../../src/watch/watcher.js';
import { handTrigger, heldFirstSearch, withOwnerSearch } from '../helpers/late-owners.js';
import { holdSockets, netnsSupport, stopAll, waitFor } from '../helpers/processes.js';

const ns = netnsSupport();

const watchers: PortWatcher[] = [];
afterEach(async () => {
  await Promise.all(watchers.splice(0).map((w) => w.close()));
  await stopAll();
});

function watching(pid: number): PortWatcher {
  const w = watch({ netnsPid: pid, interval: 50, trigger: 'poll' });
  w.on('error', () => undefined);
  watchers.push(w);
  return w;
}

function record(t: TargetWatcher): { ready: Listener[][]; events: PortEvent[]; errors: Error[] } {
  const r = { ready: [] as Listener[][], events: [] as PortEvent[], errors: [] as Error[] };
  t.on('ready', (l) => r.ready.push(l));
  t.on('open', (e) => r.events.push(e));
  t.on('close', (e) => r.events.push(e));
  t.on('error', (e) => r.errors.push(e));
  return r;
}

const ports = (events: PortEvent[], type: 'open' | 'close'): number[] =>
  events
    .filter((e) => e.type === type)
    .map((e) => e.listener.port)
    .sort((a, b) => a - b);

describe('TargetWatcher', () => {
  it('is ready with nothing when the first session never came (a container not running)', () => {
    const t = new TargetWatcher();
    const r = record(t);
    t.detach();
    expect(r.ready).toEqual([[]]);
    t.detach();
    expect(r.ready).toHaveLength(1);
  });

  it.skipIf(!ns.ok)('relays one session, closes its listeners on detach, and opens the next one’s', async () => {
    const a = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }], { netns: true });
    const b = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }], { netns: true });
    const t = new TargetWatcher();
    const r = record(t);
    const wa = watching(a.pid);
    t.attach(wa);
    await waitFor(() => r.ready.length === 1, 'ready from the first session');
    expect(r.ready[0]!.map((l) => l.port)).toEqual(a.ports);
    expect(t.source).toBe(wa.source);

    const more = await a.open({ proto: 'tcp', host: '127.0.0.1' });
    await waitFor(() => ports(r.events, 'open').includes(more.port), 'the open in the first session');

    t.detach(wa);
    expect(ports(r.events, 'close')).toEqual([...a.ports, more.port].sort((x, y) => x - y));
    const ignored = await a.open({ proto: 'tcp', host: '127.0.0.1' });

    const wb = watching(b.pid);
    t.attach(wb);
    await waitFor(() => ports(r.events, 'open').includes(b.ports[0]!), 'the second session’s listener as an open');
    expect(r.ready).toHaveLength(1);
    expect(r.events.some((e) => e.listener.port === ignored.port)).toBe(false);

    // The target goes away: its watcher's ENOPROCESS is the session's end, not serve's error.
    const failed = new Promise<Error>((resolve) => wb.once('error', resolve));
    await b.stop();
    expect(((await failed) as Error & { code?: string }).code).toBe('ENOPROCESS');
    expect(r.errors).toEqual([]);
    t.detach(wb);
    expect(ports(r.events, 'close')).toContain(b.ports[0]);
  });

  it('relays an owner found late as update, for a listener it announced', async (ctx) => {
    if (!ns.ok) return ctx.skip(ns.reason);
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }], { netns: true });
    const first = holder.ports[0] as number;
    const search = heldFirstSearch();
    const hand = handTrigger();
    const w = withOwnerSearch(search.owners, () => new Watcher({ netnsPid: holder.pid, interval: 60_000, trigger: hand.trigger }));
    watchers.push(w);
    const t = new TargetWatcher();
    const r = record(t);
    const updates: UpdateEvent[] = [];
    t.on('update', (e) => updates.push(e));
    t.attach(w);
    await search.started;
    const { port } = await holder.open({ proto: 'tcp', host: '127.0.0.1' });
    hand.hint({ kind: 'listen', port, tid: holder.pid });
    await waitFor(() => r.events.some((e) => e.type === 'open' && e.listener.port === port), 'the open of the new listener');
    expect(r.ready[0]?.map((l) => [l.port, l.process])).toEqual([[first, null]]);
    search.release();
    const update = await waitFor(() => updates.find((e) => e.listener.port === first), 'the update');
    expect(update.listener.process?.pid).toBe(holder.pid);
    await t.close();
  });
});
