/**
 * The namespace inventory on a /proc-shaped directory made here: `<pid>/ns/net` symlinks
 * (readlink returns their text), `loadavg`, `self/mountinfo`. Time is given to it.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { NamespaceInventory } from '../../src/engine/namespace-inventory.js';
import { loadavgStamp } from '../../src/engine/netns-text.js';

const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

function fakeProc() {
  const root = mkdtempSync(join(tmpdir(), 'portwatch-inventory-'));
  roots.push(root);
  let lastPid = 100;
  const stamp = (): void => writeFileSync(join(root, 'loadavg'), `0.10 0.20 0.30 1/${lastPid} ${lastPid}\n`);
  mkdirSync(join(root, 'self'));
  writeFileSync(join(root, 'self', 'mountinfo'), '');
  stamp();
  return {
    root,
    /** A process in `netns` (a new pid: loadavg moves). */
    spawn(pid: number, netns: string): void {
      mkdirSync(join(root, String(pid), 'ns'), { recursive: true });
      symlinkSync(`net:[${netns}]`, join(root, String(pid), 'ns', 'net'));
      lastPid = pid;
      stamp();
    },
    /** The same pid, another namespace (unshare after exec): loadavg does not move. */
    move(pid: number, netns: string): void {
      rmSync(join(root, String(pid), 'ns', 'net'));
      symlinkSync(`net:[${netns}]`, join(root, String(pid), 'ns', 'net'));
    },
    exit(pid: number): void {
      rmSync(join(root, String(pid)), { recursive: true });
      lastPid++; // what the kernel's counts would do: the thread count drops; here the stamp just changes
      stamp();
    },
    mount(netns: string, path: string): void {
      writeFileSync(join(root, 'self', 'mountinfo'), `47 46 0:4 net:[${netns}] ${path} rw shared:7 - nsfs nsfs rw\n`);
    },
  };
}

describe('namespace inventory', () => {
  it('finds the unique namespaces of processes and of mounts', () => {
    const p = fakeProc();
    p.spawn(1, '4026531840');
    p.spawn(2, '4026531840');
    p.spawn(3, '4026532177');
    p.mount('4026532300', '/run/netns/blue');
    const inv = new NamespaceInventory({ procRoot: p.root, now: () => 0 });
    expect([...inv.refresh()].sort()).toEqual(['4026531840', '4026532177', '4026532300']);
    expect(inv.membersOf('4026531840')).toEqual([1, 2]);
    expect(inv.pathsOf('4026532300')).toEqual(['/run/netns/blue']);
    expect(inv.pathsOf('4026532177')).toEqual([`${p.root}/3/ns/net`]);
  });

  it('reads only new pids, and nothing while loadavg says no task came or went', () => {
    const p = fakeProc();
    for (let pid = 1; pid <= 50; pid++) p.spawn(pid, '4026531840');
    let now = 0;
    const inv = new NamespaceInventory({ procRoot: p.root, now: () => now });
    inv.refresh();
    expect(inv.readlinks).toBe(50);
    now = 5_000; // no longer young (each is read once more, after the look that found it), and no full look due yet
    inv.refresh();
    expect(inv.fullRefreshes).toBe(1); // same stamp: /proc not listed
    expect(inv.readlinks).toBe(100);
    now = 5_500;
    inv.refresh();
    expect(inv.readlinks).toBe(100); // nothing at all
    now = 6_000;
    const before = inv.readlinks;
    p.spawn(60, '4026532177');
    expect(inv.refresh().has('4026532177')).toBe(true);
    expect(inv.fullRefreshes).toBe(2);
    expect(inv.readlinks - before).toBeLessThanOrEqual(1 + 16); // the new pid, and a slice re-verified
  });

  it('a young process that enters another namespace without a new pid is caught (unshare then exec)', () => {
    const p = fakeProc();
    p.spawn(7, '4026531840');
    let now = 0;
    const inv = new NamespaceInventory({ procRoot: p.root, now: () => now });
    inv.refresh();
    p.move(7, '4026532999');
    now = 500;
    const live = inv.refresh();
    expect(live.has('4026532999')).toBe(true);
    expect(live.has('4026531840')).toBe(false);
    expect(inv.touched.has('4026532999')).toBe(true);
  });

  it('…even when the next look comes long after (looks paced by their cost on a busy host)', () => {
    const p = fakeProc();
    p.spawn(7, '4026531840');
    for (let pid = 100; pid < 140; pid++) p.spawn(pid, '4026531840'); // more than one slice of re-verified pids
    let now = 0;
    const inv = new NamespaceInventory({ procRoot: p.root, now: () => now });
    inv.refresh();
    p.move(7, '4026532999');
    now = 9_000;
    expect(inv.refresh().has('4026532999')).toBe(true);
    expect(inv.membersOf('4026532999')).toEqual([7]);
  });

  it('a namespace goes when its last process exits and no mount holds it', () => {
    const p = fakeProc();
    p.spawn(1, '4026531840');
    p.spawn(9, '4026532177');
    const inv = new NamespaceInventory({ procRoot: p.root, now: () => 0 });
    expect(inv.refresh().has('4026532177')).toBe(true);
    p.exit(9);
    expect(inv.refresh().has('4026532177')).toBe(false);
    expect(inv.has(9)).toBe(false);
  });

  it('a task named by a kernel event is placed at once', () => {
    const p = fakeProc();
    p.spawn(1, '4026531840');
    const inv = new NamespaceInventory({ procRoot: p.root, now: () => 0 });
    inv.refresh();
    p.spawn(40, '4026533000'); // a thread or process the inventory has not listed yet
    expect(inv.taskNetns(40)).toBe('4026533000');
    expect(inv.membersOf('4026533000')).toEqual([40]);
    expect(inv.taskNetns(41)).toBeNull();
  });

  it('reads the thread count and last pid of /proc/loadavg', () => {
    expect(loadavgStamp('0.52 0.58 0.59 3/155 31006\n')).toBe('155 31006');
    expect(loadavgStamp('garbage')).toBeNull();
  });
});
