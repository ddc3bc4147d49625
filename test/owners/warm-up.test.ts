import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { warmUpOwnerSearch } from '../../src/owners/warm-up.js';
import { Scanner } from '../../src/scan.js';

let server: net.Server | null = null;
afterEach(async () => {
  await new Promise<void>((resolve) => (server === null ? resolve() : server.close(() => resolve())));
  server = null;
});

/** A socket of this process for the warm-up to find, whatever else the test runner holds. */
async function holdASocket(): Promise<void> {
  server = net.createServer();
  await new Promise<void>((resolve) => (server as net.Server).listen(0, '127.0.0.1', resolve));
}

describe('warmUpOwnerSearch: the owner search run once off the clock', () => {
  it('runs the search end to end on a socket of this process and finds this process', async () => {
    await holdASocket();
    expect(await warmUpOwnerSearch()).toBe(true);
  });

  it('runs once per process: later calls share the first answer', async () => {
    await holdASocket();
    const first = warmUpOwnerSearch();
    expect(warmUpOwnerSearch()).toBe(first);
    expect(await first).toBe(true);
  });

  it('is false, not an error, where /proc cannot be read', async () => {
    const root = mkdtempSync(join(tmpdir(), 'pw-warm-'));
    try {
      expect(await warmUpOwnerSearch(root)).toBe(false);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('Scanner.warmUp', () => {
  it('keeps nothing: no walk counted, the next scan sees what the one before saw', async () => {
    await holdASocket();
    const { port } = (server as net.Server).address() as net.AddressInfo;
    // Only this test's socket: other tests' listeners come and go meanwhile.
    const scanner = new Scanner({ source: 'procfs', select: (socket) => socket.port === port });
    try {
      const before = await scanner.scan();
      expect(before.listeners.map((l) => l.process?.pid)).toEqual([process.pid]);
      const walks = scanner.walks;
      expect(await scanner.warmUp()).toBe(true);
      expect(scanner.walks).toBe(walks);
      const after = await scanner.scan();
      expect(after.listeners).toEqual(before.listeners);
    } finally {
      scanner.close();
    }
  });

  it('has nothing to warm when owners are not wanted', async () => {
    const scanner = new Scanner({ source: 'procfs', owners: false });
    expect(await scanner.warmUp()).toBe(false);
  });
});
