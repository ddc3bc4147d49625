/**
 * serve's filter over a watcher it did not start (forward --serve): a listener announced is
 * always closed, and an owner found late that changes the filter's answer reads as the open
 * or the close serve would have seen from a watcher of its own. The watcher here is a plain
 * emitter fed by the test: the unit is the filter's bookkeeping.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { Listener } from '../../src/listener.js';
import { filteredWatcher } from '../../src/serve/filtered-watcher.js';
import type { ServeWatcher } from '../../src/serve/live-state.js';
import { listener, proc } from '../rules/make-listener.js';

function harness(keep: (l: Listener) => boolean) {
  const inner = Object.assign(new EventEmitter(), {
    source: 'sockdiag',
    trigger: 'poll',
    triggerFallback: null,
    close: () => Promise.resolve(),
  });
  const w = filteredWatcher(inner as unknown as ServeWatcher, keep);
  const seen: string[] = [];
  w.on('ready', (ls) => seen.push(`ready ${ls.map((l) => l.port).join(',')}`));
  w.on('open', (e) => seen.push(`open ${e.listener.port}`));
  w.on('close', (e) => seen.push(`close ${e.listener.port}`));
  w.on('update', (e) => seen.push(`update ${e.listener.port}`));
  return { inner, seen };
}

const T = '2026-01-01T00:00:00.000Z';
const unowned = (port: number): Listener => listener({ port, inode: port, process: null });
const owned = (port: number, name: string): Listener => listener({ port, inode: port, process: proc({ pid: port, name }) });

describe('filteredWatcher', () => {
  it('passes what the filter keeps, and closes what it announced even when the closing listener would not pass', () => {
    const { inner, seen } = harness((l) => l.process?.name !== 'hidden');
    inner.emit('ready', [unowned(1), owned(2, 'hidden'), owned(3, 'node')]);
    inner.emit('close', { type: 'close', time: T, listener: owned(1, 'hidden') }); // its owner came with the close
    inner.emit('close', { type: 'close', time: T, listener: owned(2, 'hidden') }); // never announced
    expect(seen).toEqual(['ready 1,3', 'close 1']);
  });

  it('turns an update that changes the answer into an open or a close, and passes the rest as update', () => {
    const { inner, seen } = harness((l) => l.process === null || l.process.name !== 'hidden');
    const needsOwner = harness((l) => l.process?.name === 'node');
    for (const h of [inner, needsOwner.inner]) h.emit('ready', [unowned(1), unowned(2), unowned(3)]);
    for (const h of [inner, needsOwner.inner]) {
      h.emit('update', { type: 'update', time: T, listener: owned(1, 'node') });
      h.emit('update', { type: 'update', time: T, listener: owned(2, 'hidden') });
    }
    expect(seen).toEqual(['ready 1,2,3', 'update 1', 'close 2']);
    expect(needsOwner.seen).toEqual(['ready ', 'open 1']);
  });
});
