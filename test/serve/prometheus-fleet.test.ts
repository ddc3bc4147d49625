/**
 * A fleet through Prometheus, for real: Debian's `prometheus` on loopback scrapes two
 * `portwatch serve` instances, each watching a network namespace the test made, and a
 * PromQL query through its HTTP API answers "which ports listen where" for both.
 * Skipped with the reason without prometheus; a failure under PORTWATCH_REQUIRE_PROMETHEUS=1.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI } from '../helpers/cli.js';
import { holdSockets, netnsSupport, stopAll, waitFor } from '../helpers/processes.js';

const ns = netnsSupport();
const children: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.exitCode !== null || c.signalCode !== null) continue;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
  await stopAll();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function prometheusMissing(): string | null {
  const r = spawnSync('prometheus', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return `prometheus is not runnable (${r.error?.message ?? r.stderr.trim()}); apt-get install prometheus`;
  return ns.ok ? null : ns.reason;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function startServe(netnsPid: number): Promise<string> {
  const child = spawn(process.execPath, [CLI, 'serve', '--netns-pid', String(netnsPid), '--listen', '127.0.0.1:0', '--no-probe'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const m = await waitFor(() => /serving http:\/\/([^/\s]+)/.exec(err), `serve to start (stderr: ${err})`, 15_000);
  return m[1]!;
}

interface Sample {
  metric: Record<string, string>;
}

describe('a fleet in Prometheus', () => {
  it('one query lists the listeners of two namespaces, each with its netns', async (ctx) => {
    const missing = prometheusMissing();
    if (missing !== null) {
      if (process.env.PORTWATCH_REQUIRE_PROMETHEUS === '1') throw new Error(`${missing} and PORTWATCH_REQUIRE_PROMETHEUS=1`);
      console.warn(`skipped: ${missing}`);
      return ctx.skip();
    }
    const a = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }], { netns: true });
    const b = await holdSockets(
      [
        { proto: 'tcp', host: '::1' },
        { proto: 'udp', host: '0.0.0.0' },
      ],
      { netns: true },
    );
    const targets = [await startServe(a.pid), await startServe(b.pid)];
    const dir = mkdtempSync(join(tmpdir(), 'portwatch-prom-'));
    dirs.push(dir);
    writeFileSync(
      join(dir, 'prometheus.yml'),
      `global: { scrape_interval: 1s, evaluation_interval: 1s }\nscrape_configs:\n  - job_name: portwatch\n    static_configs:\n      - targets: [${targets.map((t) => `'${t}'`).join(', ')}]\n`,
    );
    const port = await freePort();
    const prom = spawn(
      'prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: 'ignore' },
    );
    children.push(prom);
    const query = async (q: string): Promise<Sample[]> => {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(q)}`, {
          signal: AbortSignal.timeout(5_000),
        });
        const body = (await res.json()) as { data?: { result?: Sample[] } };
        return body.data?.result ?? [];
      } catch {
        return [];
      }
    };
    const samples = await waitFor(
      async () => {
        const r = await query('portwatch_listener_info');
        return r.length >= 3 ? r : null;
      },
      'three listeners in Prometheus',
      45_000,
      250,
    );
    const seen = samples.map((s) => `${s.metric.protocol} ${s.metric.address}:${s.metric.port} ${s.metric.process}`).sort();
    expect(seen).toEqual(
      [`tcp 127.0.0.1:${a.ports[0]} python3`, `tcp6 ::1:${b.ports[0]} python3`, `udp 0.0.0.0:${b.ports[1]} python3`].sort(),
    );
    expect(new Set(samples.map((s) => s.metric.netns)).size).toBe(2);
    expect(new Set(samples.map((s) => s.metric.instance))).toEqual(new Set(targets));
    // "Which instance listens on this port?" is one PromQL expression.
    const who = await query(`portwatch_listener_info{port="${b.ports[0]}"}`);
    expect(who.map((s) => s.metric.instance)).toEqual([targets[1]]);
    const counts = await query('sum by (instance) (portwatch_namespace_listeners)');
    expect(counts.map((s) => s.metric.instance).sort()).toEqual([...targets].sort());
  }, 90_000);
});
