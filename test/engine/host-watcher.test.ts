/**
 * Host mode against real namespaces: 20 made here (`unshare --net` holders with listeners),
 * one made and one removed while watching, a named one (`ip netns add`) that outlives its
 * processes. Every process is stopped by pid and every named namespace deleted.
 */
import { spawnSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { watchHost, type HostWatcher, type NamespaceEvent } from '../../src/engine/host-watcher.js';
import type { Listener, PortEvent } from '../../src/listener.js';
import { holdSockets, netnsSupport, stopAll, waitFor, type Holder } from '../helpers/processes.js';
import { requireTracefs } from '../helpers/tracefs.js';

const support = netnsSupport();
const isRoot = process.getuid?.() === 0;
const watchers: HostWatcher[] = [];
const named: string[] = [];

afterEach(async () => {
  await Promise.all(watchers.splice(0).map((w) => w.close()));
  await stopAll();
  for (const name of named.splice(0)) spawnSync('ip', ['netns', 'del', name]);
});

function netnsOfPid(pid: number): string {
  return /^net:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/ns/net`))![1]!;
}

const SPECS = [
  { proto: 'tcp' as const, host: '127.0.0.1' },
  { proto: 'udp' as const, host: '::1' },
];

/** Everything a watcher says, in order. */
function record(w: HostWatcher): (PortEvent | NamespaceEvent)[] {
  const events: (PortEvent | NamespaceEvent)[] = [];
  for (const type of ['open', 'close', 'namespace-open', 'namespace-close'] as const) {
    w.on(type, (e: PortEvent | NamespaceEvent) => events.push(e));
  }
  return events;
}

function inNetns(listeners: readonly Listener[], netns: string): Listener[] {
  return listeners.filter((l) => l.netns === netns);
}

describe.skipIf(!support.ok || !isRoot)('host watcher: every namespace on the machine', () => {
  async function twentyAndOneMore(trigger: 'poll' | 'tracefs'): Promise<void> {
    // Started a few at a time: twenty python processes at once on a busy 2-core machine are slow to answer.
    const holders: Holder[] = [];
    for (let i = 0; i < 20; i += 4)
      holders.push(...(await Promise.all(Array.from({ length: 4 }, () => holdSockets(SPECS, { netns: true })))));
    const spaces = holders.map((h) => netnsOfPid(h.pid));
    expect(new Set(spaces).size).toBe(20);
    const w = watchHost({ trigger, containers: false });
    watchers.push(w);
    w.on('error', () => {});
    const events = record(w);
    const ready = await w.whenReady();
    expect(w.trigger).toBe(trigger);
    holders.forEach((h, i) => {
      const mine = inNetns(ready, spaces[i]!);
      expect(mine.map((l) => `${l.protocol}:${l.address}:${l.port}`).sort()).toEqual([
        `tcp:127.0.0.1:${h.ports[0]}`,
        `udp:::1:${h.ports[1]}`,
      ]);
      expect(mine.every((l) => l.process?.pid === h.pid)).toBe(true);
    });
    const inodes = ready.map((l) => l.inode);
    expect(new Set(inodes).size).toBe(inodes.length); // each listener once

    const added: Holder = await holdSockets(SPECS, { netns: true });
    const addedNetns = netnsOfPid(added.pid);
    await waitFor(
      () => events.filter((e) => e.type === 'open' && e.listener.netns === addedNetns).length === 2,
      "the new namespace's listeners",
    );
    const opened = events.findIndex((e) => e.type === 'namespace-open' && e.netns === addedNetns);
    const firstOpen = events.findIndex((e) => e.type === 'open' && e.listener.netns === addedNetns);
    expect(opened).toBeGreaterThanOrEqual(0);
    expect(opened).toBeLessThan(firstOpen);

    const gone = holders[7]!;
    await gone.stop();
    await waitFor(() => events.some((e) => e.type === 'namespace-close' && e.netns === spaces[7]), 'namespace-close', 15_000);
    const closes = events.filter((e) => e.type === 'close' && e.listener.netns === spaces[7]) as PortEvent[];
    expect(closes.map((e) => e.listener.port).sort()).toEqual([...gone.ports].sort());
    const closedAt = events.findIndex((e) => e.type === 'namespace-close' && e.netns === spaces[7]);
    expect(events.findIndex((e) => e.type === 'close' && e.listener.netns === spaces[7])).toBeLessThan(closedAt);

    // Every listener of the test's namespaces reported once: no open twice, nothing else closed.
    const mine = new Set([...spaces, addedNetns]);
    const opens = events.filter((e): e is PortEvent => e.type === 'open' && mine.has(e.listener.netns ?? ''));
    expect(opens.length).toBe(2);
    const otherCloses = events.filter(
      (e): e is PortEvent => e.type === 'close' && mine.has(e.listener.netns ?? '') && e.listener.netns !== spaces[7],
    );
    expect(otherCloses).toEqual([]);
    const snapshot = w.snapshot();
    for (const netns of mine) expect(inNetns(snapshot, netns).length).toBe(netns === spaces[7] ? 0 : 2);
  }

  it('polling: 20 namespaces listed once each, one made and one removed while watching', { timeout: 120_000 }, async () => {
    await twentyAndOneMore('poll');
  });

  it('tracefs: the same, driven by kernel events', { timeout: 120_000 }, async (ctx) => {
    requireTracefs(ctx);
    await twentyAndOneMore('tracefs');
  });

  it('a named namespace outlives its processes, and closes when deleted', { timeout: 30_000 }, async () => {
    const name = `pw-host-${process.pid}`;
    expect(spawnSync('ip', ['netns', 'add', name]).status).toBe(0);
    named.push(name);
    spawnSync('ip', ['netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up']);
    const w = watchHost({ trigger: 'poll', containers: false });
    watchers.push(w);
    const events = record(w);
    const ready = await w.whenReady();
    const netns = /^(\d+)$/.exec(String(readlinkInode(`/run/netns/${name}`)))![1]!;
    expect(inNetns(ready, netns)).toEqual([]);
    expect(w.namespaces().find((n) => n.netns === netns)?.mounts).toEqual([`/run/netns/${name}`]);

    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }], { netnsName: name });
    await waitFor(
      () => events.some((e) => e.type === 'open' && e.listener.netns === netns && e.listener.port === holder.ports[0]),
      'open in the named namespace',
    );
    await holder.stop();
    await waitFor(() => events.some((e) => e.type === 'close' && e.listener.netns === netns), 'close in the named namespace');
    expect(events.some((e) => e.type === 'namespace-close' && e.netns === netns)).toBe(false);

    expect(spawnSync('ip', ['netns', 'del', name]).status).toBe(0);
    named.splice(named.indexOf(name), 1);
    await waitFor(
      () => events.some((e) => e.type === 'namespace-close' && e.netns === netns),
      'namespace-close after ip netns del',
      10_000,
    );
  });

  it('polling: a server restarted on the same port by a new process is a close and an open', { timeout: 30_000 }, async () => {
    const name = `pw-restart-${process.pid}`;
    expect(spawnSync('ip', ['netns', 'add', name]).status).toBe(0);
    named.push(name);
    spawnSync('ip', ['netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up']);
    const netns = readlinkInode(`/run/netns/${name}`);
    const first = await holdSockets([{ proto: 'tcp', host: '127.0.0.1', port: 18080 }], { netnsName: name });
    const w = watchHost({ trigger: 'poll', containers: false });
    watchers.push(w);
    const events = record(w);
    await w.whenReady();
    await first.stop();
    const second = await holdSockets([{ proto: 'tcp', host: '127.0.0.1', port: 18080 }], { netnsName: name });
    // The probe's counts may be the same before and after (one closed, one opened): the new process is what tells.
    await waitFor(
      () => events.some((e) => e.type === 'open' && e.listener.netns === netns && e.listener.process?.pid === second.pid),
      'the new server',
      10_000,
    );
    const mine = events.filter((e): e is PortEvent => (e.type === 'open' || e.type === 'close') && e.listener.netns === netns);
    expect(mine.map((e) => [e.type, e.listener.process?.pid])).toEqual([
      ['close', first.pid],
      ['open', second.pid],
    ]);
  });
});

function readlinkInode(path: string): string {
  return String(spawnSync('stat', ['-L', '-c', '%i', path], { encoding: 'utf8' }).stdout.trim());
}
