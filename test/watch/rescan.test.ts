import { afterEach, describe, expect, it } from 'vitest';
import type { RawSocket, Source } from '../../src/sources/source.js';
import { PortWatcher, watch } from '../../src/watch/watcher.js';
import { holdSockets, stopAll, waitFor } from '../helpers/processes.js';

const watchers: PortWatcher[] = [];
afterEach(async () => {
  await Promise.all(watchers.splice(0).map((w) => w.close()));
  await stopAll();
});

/** A source that counts its scans and can hold one open until released. */
function gatedSource(): Source & { calls: number; hold(): void; release(): void } {
  let gate: Promise<void> | null = null;
  let open: (() => void) | null = null;
  const source = {
    name: 'procfs' as const,
    calls: 0,
    async scan(): Promise<RawSocket[]> {
      source.calls++;
      if (gate) await gate;
      return [];
    },
    hold() {
      gate = new Promise<void>((r) => (open = r));
    },
    release() {
      gate = null;
      open?.();
    },
  };
  return source;
}

/** Lets every timer that is already due (setTimeout 0) fire, and then some. */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 30));

function started(options: ConstructorParameters<typeof PortWatcher>[0]): PortWatcher {
  const w = watch(options);
  watchers.push(w);
  return w;
}

describe('PortWatcher.rescan()', () => {
  it('sees a new listener at once, long before the next scheduled scan', async () => {
    const holder = await holdSockets([]);
    // poll: with tracefs the kernel's own hint would find the listener first.
    const w = started({ interval: 600_000, trigger: 'poll', filter: (l) => l.process?.pid === holder.pid });
    await w.whenReady();
    const { port } = await holder.open({ proto: 'tcp', host: '127.0.0.1' });
    const opened = new Promise<number>((resolve) => w.once('open', (e) => resolve(e.listener.port)));
    w.rescan();
    expect(await opened).toBe(port);
  });

  it('coalesces calls made while waiting into one scan', async () => {
    const source = gatedSource();
    const w = started({ interval: 600_000, source });
    await w.whenReady();
    expect(source.calls).toBe(1);
    for (let i = 0; i < 10; i++) w.rescan();
    await waitFor(() => source.calls === 2, 'the rescan');
    await settle();
    expect(source.calls).toBe(2);
  });

  it('during a scan, asks for exactly one more scan, started after the running one ends', async () => {
    const source = gatedSource();
    const w = started({ interval: 600_000, source });
    await w.whenReady();
    source.hold();
    w.rescan();
    await waitFor(() => source.calls === 2, 'the held scan to start');
    for (let i = 0; i < 5; i++) w.rescan(); // while scan 2 is held
    await settle();
    expect(source.calls).toBe(2); // nothing overlaps a running scan
    source.release();
    await waitFor(() => source.calls === 3, 'the scan asked for during the held one');
    await settle();
    expect(source.calls).toBe(3);
  });

  it('is a no-op after close()', async () => {
    const source = gatedSource();
    const w = started({ interval: 600_000, source });
    await w.whenReady();
    await w.close();
    w.rescan();
    await settle();
    expect(source.calls).toBe(1);
  });

  it('before the first scan, does not add a second one', async () => {
    const source = gatedSource();
    const w = started({ interval: 600_000, source });
    w.rescan();
    w.rescan();
    await w.whenReady();
    await settle();
    expect(source.calls).toBe(1);
  });
});
