/**
 * serve's process metrics cost nothing between scrapes. In a file of its own: a process that
 * once ran prom-client's collectDefaultMetrics keeps its event loop delay sampler for good.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createServeMetrics } from '../../src/serve/metrics.js';

/** Voluntary context switches of this process's main thread: one per wake-up from sleep. */
function wakeUps(): number {
  const status = readFileSync(`/proc/self/task/${process.pid}/status`, 'utf8');
  return Number(/^voluntary_ctxt_switches:\s+(\d+)$/m.exec(status)?.[1]);
}

async function wakeUpsDuring(ms: number): Promise<number> {
  const before = wakeUps();
  await new Promise((r) => setTimeout(r, ms));
  return wakeUps() - before;
}

describe('process metrics', () => {
  it('are read when scraped: no timers, the process does not wake up while idle', async () => {
    const quiet = await wakeUpsDuring(1_000);
    const metrics = createServeMetrics({ listeners: () => [], processMetrics: true });
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^process_cpu_seconds_total \d/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
    // prom-client's collectDefaultMetrics samples event loop delay every 10 ms: ~100 a second.
    const idle = await wakeUpsDuring(1_000);
    expect({ quiet, idle, extra: idle - quiet < 20 }).toMatchObject({ extra: true });
  });
});
