/** A host watcher numbers its steps and tells when each ends (what the MCP engine waits on). */
import { afterEach, describe, expect, it } from 'vitest';
import { watchHost, type HostTickEvent, type HostWatcher } from '../../src/engine/host-watcher.js';
import { waitFor } from '../helpers/processes.js';

const watchers: HostWatcher[] = [];
afterEach(async () => {
  await Promise.all(watchers.splice(0).map((w) => w.close()));
});

describe.skipIf(process.platform !== 'linux')('host watcher: tick', () => {
  it('follows every step with its number; a step begun after rescan() comes, with or without a look for namespaces', async () => {
    const w = watchHost({ trigger: 'poll', containers: false, source: process.getuid?.() === 0 ? 'auto' : 'procfs' });
    watchers.push(w);
    w.on('error', () => {});
    const ticks: HostTickEvent[] = [];
    w.on('tick', (t) => ticks.push(t));
    await w.whenReady();
    await waitFor(() => ticks.length > 0, 'the first tick');
    expect(ticks[0]).toEqual({ reason: 'first', step: 1, error: null });
    for (const namespaces of [true, false]) {
      const before = w.steps;
      w.rescan({ namespaces });
      const after = await waitFor(() => ticks.find((t) => t.step > before), 'a step begun after rescan()');
      expect(after.error).toBeNull();
    }
    // One at a time, in order, none skipped.
    expect(ticks.map((t) => t.step)).toEqual(ticks.map((_, i) => i + 1));
    expect(w.steps).toBeGreaterThanOrEqual(ticks.length);
  });
});
