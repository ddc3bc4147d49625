import { mkdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, type TestContext } from 'vitest';
import { createProcNetSource } from '../../src/sources/proc-net.js';
import type { RawSocket, Source } from '../../src/sources/source.js';
import { createSsSource, findExecutable } from '../../src/sources/ss.js';
import { holdInNetns, type NetnsHolder, requireNetns, skipWith } from './netns-holder.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function ss(ctx: TestContext): Source {
  const source = createSsSource();
  if (!source) skipWith(ctx, 'ss (iproute2) is not installed');
  if (findExecutable('nsenter') === null) skipWith(ctx, 'nsenter (util-linux) is not installed');
  requireNetns(ctx);
  return source;
}

async function hold(...args: Parameters<typeof holdInNetns>): Promise<NetnsHolder> {
  const h = await holdInNetns(...args);
  cleanups.push(() => h.stop());
  return h;
}

const onPort = (sockets: readonly RawSocket[], port: number) => sockets.filter((s) => s.port === port);

describe('ss source', () => {
  it('takes each family from the call that asked for it: `*` is the dual-stack IPv6 wildcard', async (ctx) => {
    const source = ss(ctx);
    const { pid } = await hold([
      { proto: 'tcp', host: '::', port: 7004, v6only: false },
      { proto: 'tcp', host: '0.0.0.0', port: 7001 },
      { proto: 'udp', host: '::', port: 7010, v6only: false },
      { proto: 'udp', host: '0.0.0.0', port: 7008 },
    ]);
    const sockets = await source.scan({ netnsPid: pid });
    expect(onPort(sockets, 7004)).toMatchObject([{ protocol: 'tcp', family: 6, address: '::', v6only: false }]);
    expect(onPort(sockets, 7001)).toMatchObject([{ protocol: 'tcp', family: 4, address: '0.0.0.0', v6only: null }]);
    expect(onPort(sockets, 7010)).toMatchObject([{ protocol: 'udp', family: 6, address: '::', v6only: false }]);
    expect(onPort(sockets, 7008)).toMatchObject([{ protocol: 'udp', family: 4, address: '0.0.0.0' }]);
    expect(sockets).toHaveLength(4);
  });

  it('reports the real inode and uid of a socket whose cgroup is named like ss fields', async (ctx) => {
    const source = ss(ctx);
    const mount = readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .map((line) => line.split(' '))
      .find((f) => f[2] === 'cgroup2')?.[1];
    if (mount === undefined) skipWith(ctx, 'no cgroup v2 mount');
    const cgroup = join(mount, `portwatch-test-${process.pid} ino:1 uid:4242 v6only:1 <->`);
    try {
      mkdirSync(cgroup);
    } catch (e) {
      skipWith(ctx, `cannot make a cgroup under ${mount}: ${(e as Error).message}`);
    }
    // Registered before the holder's stop, so it runs after it: a cgroup with a process in it cannot go.
    cleanups.push(() => removeCgroup(cgroup));
    const { pid } = await hold(
      [
        { proto: 'tcp', host: '127.0.0.1', port: 7001 },
        { proto: 'tcp', host: '::', port: 7004, v6only: false },
      ],
      cgroup,
    );
    const fromSs = await source.scan({ netnsPid: pid });
    const fromProc = await createProcNetSource().scan({ netnsPid: pid });
    for (const port of [7001, 7004]) {
      const [s] = onPort(fromSs, port);
      expect(s?.inode).toBe(onPort(fromProc, port)[0]?.inode);
      expect(s?.inode).not.toBe(1);
      expect(s?.uid).toBe(0);
    }
    expect(onPort(fromSs, 7004)[0]?.v6only).toBe(false); // ss's own v6only:0, not the path's v6only:1
  });
});

/** rmdir of a cgroup whose last process just exited can fail with EBUSY for a moment. */
async function removeCgroup(path: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    try {
      rmdirSync(path);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
