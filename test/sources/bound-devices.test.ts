import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, type TestContext } from 'vitest';
import { displayAddress } from '../../src/listener.js';
import { Scanner } from '../../src/scan.js';
import { createProcNetSource } from '../../src/sources/proc-net.js';
import { sockDiagUnavailableReason } from '../../src/sources/sock-diag-addon.js';
import { createSockDiagSource } from '../../src/sources/sock-diag.js';
import type { RawSocket, Source } from '../../src/sources/source.js';
import { createSsSource, findExecutable } from '../../src/sources/ss.js';
import { InterfaceNames } from '../../src/sources/interface-names.js';
import { holdInNetns, type NetnsHolder, requireNetns, skipWith } from './netns-holder.js';

const holders: NetnsHolder[] = [];
afterEach(async () => {
  for (const h of holders.splice(0)) await h.stop();
});

// In a namespace of its own: d0 and d1 each carry fe80::1.
const SOCKETS = [
  { proto: 'tcp', host: '0.0.0.0', port: 8080, device: 'lo' },
  { proto: 'tcp', host: 'fe80::1', port: 8081, scope: 'd0' },
  { proto: 'tcp', host: 'fe80::1', port: 8081, scope: 'd1' },
  { proto: 'tcp', host: '::', port: 8082, device: 'd1', v6only: false },
  { proto: 'udp', host: '0.0.0.0', port: 8083, device: 'lo' },
  { proto: 'tcp', host: '127.0.0.1', port: 8084 },
] as const;

async function holder(ctx: TestContext): Promise<NetnsHolder> {
  requireNetns(ctx);
  const h = await holdInNetns([...SOCKETS]);
  holders.push(h);
  return h;
}

/** `proto address%device port`, sorted: what a source says about the held sockets. */
function seen(sockets: readonly RawSocket[]): string[] {
  return sockets.map((s) => `${s.protocol} ${s.address}${s.interface ? `%${s.interface}` : ''} ${s.port}`).sort();
}

const WITH_DEVICES = [
  'tcp 0.0.0.0%lo 8080',
  'tcp 127.0.0.1 8084',
  'tcp ::%d1 8082',
  'tcp fe80::1%d0 8081',
  'tcp fe80::1%d1 8081',
  'udp 0.0.0.0%lo 8083',
];

function sockdiag(ctx: TestContext): Source {
  const source = createSockDiagSource();
  if (source) return source;
  const reason = `native addon not built: ${sockDiagUnavailableReason() ?? 'unknown reason'}`;
  if (process.env.PORTWATCH_REQUIRE_NATIVE === '1') throw new Error(reason);
  return skipWith(ctx, reason);
}

/** The host's own name for an index, to show the namespace's names did not come from it. */
function hostNameOf(index: number): string | undefined {
  const text = readFileSync('/proc/self/net/igmp6', 'utf8');
  return new RegExp(`^${index}\\s+(\\S+)`, 'm').exec(text)?.[1];
}

describe('the device a socket is bound to, in a real network namespace', () => {
  it('sockdiag names it, from the namespace’s own interface table', async (ctx) => {
    const source = sockdiag(ctx);
    const { pid } = await holder(ctx);
    try {
      const sockets = await source.scan({ netnsPid: pid });
      expect(seen(sockets)).toEqual(WITH_DEVICES);
      // d1 and d0 are indexes 2 and 3 in there; on the host those indexes name other devices (or none).
      expect(['d0', 'd1']).not.toContain(hostNameOf(2));
      const linkLocal = sockets.filter((s) => s.port === 8081);
      expect(new Set(linkLocal.map((s) => s.inode)).size).toBe(2);
    } finally {
      source.close?.();
    }
  });

  it('ss names it (%dev after the address)', async (ctx) => {
    const source = createSsSource();
    if (!source) skipWith(ctx, 'ss (iproute2) is not installed');
    if (findExecutable('nsenter') === null) skipWith(ctx, 'nsenter (util-linux) is not installed');
    const { pid } = await holder(ctx);
    expect(seen(await source.scan({ netnsPid: pid }))).toEqual(WITH_DEVICES);
  });

  it('procfs cannot see it: null, never a guess', async (ctx) => {
    const { pid } = await holder(ctx);
    const sockets = await createProcNetSource().scan({ netnsPid: pid });
    expect(seen(sockets)).toEqual(WITH_DEVICES.map((s) => s.replace(/%\w+/, '')).sort());
    expect(sockets.every((s) => s.interface === null)).toBe(true);
  });

  it('is part of the listener, its identity and how it is shown', async (ctx) => {
    const source = sockdiag(ctx);
    const { pid } = await holder(ctx);
    const scanner = new Scanner({ source, netnsPid: pid, owners: false });
    try {
      const { listeners } = await scanner.scan();
      expect(listeners.map(displayAddress).sort()).toEqual(
        ['0.0.0.0%lo:8080', '0.0.0.0%lo:8083', '127.0.0.1:8084', '[::%d1]:8082', '[fe80::1%d0]:8081', '[fe80::1%d1]:8081'].sort(),
      );
      expect(listeners.find((l) => l.port === 8084)?.interface).toBeNull();
    } finally {
      source.close?.();
    }
  });
});

describe('sockdiag interface names are cached', () => {
  it('reads the table once for many scans of the same bound sockets', () => {
    let now = 0;
    const names = new InterfaceNames('/proc', 5_000, () => now);
    const lookup = names.resolverFor('self');
    // lo is index 1 in every namespace.
    for (let i = 0; i < 50; i++) expect(lookup(1)).toBe('lo');
    expect(names.reads).toBe(1);
    expect(lookup(2 ** 31 - 1)).toBeNull(); // unknown: one more read, then remembered as missing
    expect(lookup(2 ** 31 - 1)).toBeNull();
    expect(names.reads).toBe(2);
    now += 5_001; // old enough to re-read, in case a device was renamed
    expect(lookup(1)).toBe('lo');
    expect(names.reads).toBe(3);
  });
});
