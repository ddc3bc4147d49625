import { afterEach, describe, expect, it } from 'vitest';
import { SocketOwners } from '../../src/owners/socket-owners.js';
import { scan } from '../../src/scan.js';
import { holdSockets, stopAll } from '../helpers/processes.js';

afterEach(stopAll);

async function inodesOf(pid: number): Promise<number[]> {
  const { listeners } = await scan({ source: 'procfs', owners: false });
  const mine = new Set<number>();
  // Without owners, find the holder's inodes through a fresh resolver.
  const owners = new SocketOwners();
  const found = await owners.resolve(listeners.map((l) => l.inode));
  for (const [inode, owner] of found) if (owner === pid) mine.add(inode);
  return [...mine];
}

describe('SocketOwners', () => {
  it('finds the owner, then trusts its memory after one readlink instead of walking again', async () => {
    const holder = await holdSockets([
      { proto: 'tcp', host: '127.0.0.1' },
      { proto: 'udp', host: '::1' },
    ]);
    const inodes = await inodesOf(holder.pid);
    expect(inodes).toHaveLength(2);
    const owners = new SocketOwners();
    const first = await owners.resolve(inodes);
    expect([...first.values()]).toEqual([holder.pid, holder.pid]);
    expect(owners.stats.walks).toBe(1);
    const again = await owners.resolve(inodes);
    expect([...again.values()]).toEqual([holder.pid, holder.pid]);
    expect(owners.stats.walks).toBe(1);
  });

  it('does not trust a memory that went stale: a closed socket is looked for again', async () => {
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
    const [inode] = await inodesOf(holder.pid);
    let clock = 0;
    const owners = new SocketOwners('/proc', () => clock);
    expect((await owners.resolve([inode as number])).get(inode as number)).toBe(holder.pid);
    await holder.close(0);
    expect((await owners.resolve([inode as number])).has(inode as number)).toBe(false);
    expect(owners.stats.walks).toBe(2);
    clock += 10;
    await owners.resolve([inode as number]); // within the back-off: no walk
    expect(owners.stats.walks).toBe(2);
    clock += 1_000;
    await owners.resolve([inode as number]); // back-off over: one more look
    expect(owners.stats.walks).toBe(3);
  });
});
