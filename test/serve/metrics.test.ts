/**
 * serve's /metrics as Prometheus sees it: the whole exposition passes `promtool check
 * metrics` (Debian's `prometheus` package). Without promtool that test is skipped with the
 * reason printed, unless PORTWATCH_REQUIRE_PROMETHEUS=1 (CI), when it fails.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { createServeMetrics } from '../../src/serve/metrics.js';
import { waitFor } from '../helpers/processes.js';
import { closeAll, httpGet, listenTcp, portsIn, SseClient, startServe } from './helpers.js';

afterEach(closeAll);

function promtoolAvailable(ctx: { skip: () => void }): boolean {
  const r = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  if (r.status === 0) return true;
  const why = r.error ? r.error.message : `exit ${r.status}: ${r.stderr.trim()}`;
  if (process.env.PORTWATCH_REQUIRE_PROMETHEUS === '1')
    throw new Error(`promtool is not runnable (${why}) and PORTWATCH_REQUIRE_PROMETHEUS=1`);
  console.warn(
    `skipped: promtool is not runnable (${why}); apt-get install prometheus, or set PORTWATCH_REQUIRE_PROMETHEUS=1 to make this a failure`,
  );
  ctx.skip();
  return false;
}

describe('/metrics', () => {
  it('passes promtool check metrics, with process metrics and every portwatch series', async (ctx) => {
    if (!promtoolAvailable(ctx)) return;
    const ports = new Set<number>();
    const server = await startServe({ filter: portsIn(ports), probe: false, processMetrics: true });
    const c = new SseClient(server.port);
    await c.opened;
    const l = await listenTcp('127.0.0.1');
    ports.add(l.port);
    await c.until((x) => x.events().length === 1, 'the open');
    const r = await httpGet(server.port, '/metrics');
    expect(r.status).toBe(200);
    for (const name of [
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'process_start_time_seconds',
      'process_open_fds',
      'process_max_fds',
      'nodejs_eventloop_lag_seconds',
      'nodejs_heap_size_used_bytes',
      'nodejs_active_resources',
      'portwatch_listeners',
      'portwatch_events_total',
      'portwatch_scan_duration_seconds',
    ]) {
      expect(r.body).toContain(`# TYPE ${name} `);
    }
    const check = spawnSync('promtool', ['check', 'metrics'], { input: r.body, encoding: 'utf8' });
    expect({ status: check.status, output: (check.stdout + check.stderr).trim() }).toEqual({ status: 0, output: '' });
  });

  it('counts CPU as a counter that only grows, and open descriptors as /proc lists them', async () => {
    const metrics = createServeMetrics({ listeners: () => [], processMetrics: true });
    const cpu = async (): Promise<number> =>
      (await metrics.registry.getSingleMetric('process_cpu_seconds_total')?.get())?.values[0]?.value ?? -1;
    const fds = async (): Promise<number> => (await metrics.registry.getSingleMetric('process_open_fds')?.get())?.values[0]?.value ?? -1;
    const first = await cpu();
    expect(first).toBeGreaterThan(0);
    let spin = 0;
    for (let i = 0; i < 5e6; i++) spin += i % 7;
    expect(spin).toBeGreaterThan(0);
    expect(await cpu()).toBeGreaterThan(first);
    // The descriptors as the kernel lists them (minus the one the listing holds), when nothing else opens or closes one meanwhile.
    const listed = (): number => readdirSync('/proc/self/fd').length - 1;
    await waitFor(async () => {
      const before = listed();
      const value = await fds();
      return before === listed() && value === before;
    }, 'process_open_fds to match /proc/self/fd');
  });
});
