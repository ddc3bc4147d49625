import { describe, expect, it } from 'vitest';
import { listenerKey, type Listener, type PortEvent } from '../../src/listener.js';
import { ListenerTable } from '../../src/serve/listener-table.js';

const base: Listener = {
  protocol: 'tcp',
  family: 4,
  address: '127.0.0.1',
  port: 3000,
  dualStack: false,
  interface: null,
  inode: 1,
  uid: 0,
  netns: '1',
  process: { pid: 10, ppid: 1, name: 'node', command: 'node app.js', uid: 0 },
};
const L = (over: Partial<Listener>): Listener => ({ ...base, ...over });
const T0 = '2026-01-01T00:00:00.000Z';
const T1 = '2026-01-01T00:00:05.000Z';

describe('ListenerTable', () => {
  it('starts from the first scan (seenAtStart), then follows events in stable order', () => {
    const t = new ListenerTable();
    t.reset([L({ port: 5000, inode: 2 }), L({ port: 3000 })], T0);
    const open: PortEvent = { type: 'open', time: T1, listener: L({ protocol: 'udp', port: 53, inode: 3 }) };
    const view = t.apply(open);
    expect(view).toMatchObject({ port: 53, since: T1, seenAtStart: false, http: null, title: null });
    expect(t.list().map((v) => `${v.protocol}/${v.port}/${v.seenAtStart}/${v.since}`)).toEqual([
      `tcp/3000/true/${T0}`,
      `tcp/5000/true/${T0}`,
      `udp/53/false/${T1}`,
    ]);
    expect(Object.keys(t.list()[0] as object)).toEqual([...Object.keys(base), 'since', 'seenAtStart', 'http', 'title']);
    const closed = t.apply({ type: 'close', time: T1, listener: L({ port: 3000 }) });
    expect(closed).toMatchObject({ port: 3000, since: T0 });
    expect(t.list().map((v) => v.port)).toEqual([5000, 53]);
    expect(t.size).toBe(2);
  });

  it('records probe results for listeners still open only', () => {
    const t = new ListenerTable();
    t.reset([L({})], T0);
    const key = listenerKey(L({}));
    expect(t.setHttp(key, { http: 'http', title: 'Vite App' })).toMatchObject({ http: 'http', title: 'Vite App' });
    expect(t.get(key)).toMatchObject({ http: 'http', title: 'Vite App' });
    t.apply({ type: 'close', time: T1, listener: L({}) });
    expect(t.setHttp(key, { http: 'https', title: null })).toBeNull();
  });

  it('an update (owner found late) replaces the listener and keeps since, seenAtStart and the probe result', () => {
    const t = new ListenerTable({ label: () => 'web' });
    const unowned = L({ process: null });
    t.reset([unowned], T0);
    t.setHttp(listenerKey(unowned), { http: 'http', title: 'Vite App' });
    const view = t.update(L({}));
    expect(view).toEqual({ ...L({}), label: 'web', since: T0, seenAtStart: true, http: 'http', title: 'Vite App' });
    expect(t.list()).toEqual([view]);
    expect(t.update(L({ port: 9, inode: 9 }))).toBeNull(); // not (or no longer) listed: nothing to update
    expect(t.size).toBe(1);
  });

  it('adds `label` to listeners and events when a label function is given; a throwing one gives null', () => {
    const t = new ListenerTable({
      label: (l) =>
        l.port === 3000
          ? 'web'
          : l.port === 4000
            ? null
            : (() => {
                throw new Error('bad rule');
              })(),
    });
    t.reset([L({}), L({ port: 4000, inode: 2 }), L({ port: 5000, inode: 3 })], T0);
    expect(t.list().map((v) => v.label)).toEqual(['web', null, null]);
    expect(Object.keys(t.list()[0] as object)).toEqual([...Object.keys(base), 'label', 'since', 'seenAtStart', 'http', 'title']);
    const e = t.eventJson({ type: 'open', time: T1, listener: L({}) });
    expect(e).toEqual({ type: 'open', time: T1, listener: { ...L({}), label: 'web' } });
  });

  it('without a label function the JSON has no label key, and events are the core PortEvent', () => {
    const t = new ListenerTable();
    const e = t.eventJson({ type: 'close', time: T1, listener: L({}) });
    expect(e).toEqual({ type: 'close', time: T1, listener: L({}) });
    expect('label' in e.listener).toBe(false);
  });
});
