/**
 * A namespace the scanner could not hold at first (the task that named it exited between the
 * readlink and the open) is held at a later read, through a process still in it.
 */
import { spawnSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { Space } from '../../src/engine/host-space.js';
import { NamespaceHandle } from '../../src/engine/namespace-handle.js';
import { netnsOf } from '../../src/namespaces.js';
import { loadSockDiagAddon, sockDiagUnavailableReason } from '../../src/sources/sock-diag-addon.js';
import { holdSockets, netnsSupport, stopAll } from '../helpers/processes.js';

const spaces: Space[] = [];
afterEach(async () => {
  for (const s of spaces.splice(0)) s.close();
  await stopAll();
});

function why(): string | null {
  const ns = netnsSupport();
  if (!ns.ok) return ns.reason;
  if (process.getuid?.() !== 0) return 'holding another namespace with sock_diag needs root (setns)';
  if (loadSockDiagAddon() === null) return `no sock_diag addon: ${sockDiagUnavailableReason() ?? 'not built'}`;
  return null;
}

describe('Space', () => {
  it('tries again to hold a namespace it could not, at its next read, through the paths known then', async (ctx) => {
    const reason = why();
    if (reason !== null) {
      if (process.env.PORTWATCH_REQUIRE_ROOT || process.env.PORTWATCH_REQUIRE_NATIVE) throw new Error(reason);
      ctx.skip(reason);
    }
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }], { netns: true });
    const netns = /^net:\[(\d+)\]$/.exec(readlinkSync(`/proc/${holder.pid}/ns/net`))![1]!;
    // The task that named the namespace, gone: a pid whose process has exited.
    const gone = spawnSync('true').pid;
    let paths = [`/proc/${gone}/ns/net`];
    const context = { addon: loadSockDiagAddon(), enter: true, ownNetns: netnsOf(), procRoot: '/proc' };
    let opens = 0;
    const space = new Space(netns, () => {
      opens++;
      return NamespaceHandle.open(netns, paths, context);
    });
    spaces.push(space);
    expect(space.handle).toBeNull();
    expect(space.problem).toMatch(/could not be opened/);
    expect(space.read([], 0)).toBeNull();
    // The process that made it is known now (the inventory's next look): the read holds it.
    paths = [`/proc/${holder.pid}/ns/net`];
    const rows = space.read([holder.pid], 1);
    expect(rows?.map((r) => r.port)).toContain(holder.ports[0]);
    expect(space.problem).toBeNull();
    expect(space.handle?.source).toBe('sockdiag');
    expect(opens).toBe(3);
    // Held now: no more opens.
    space.read([holder.pid], 2);
    expect(opens).toBe(3);
    space.close();
    expect(space.read([holder.pid], 3)).toBeNull();
    expect(opens).toBe(3);
  });
});
