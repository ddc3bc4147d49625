/**
 * `portwatch serve -A`: one serve for every network namespace of the machine; its API and
 * its metrics carry each listener's netns, and a namespace made while it runs shows up.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import type { Listener } from '../../src/listener.js';
import { CLI } from '../helpers/cli.js';
import { holdSockets, netnsSupport, stopAll, waitFor } from '../helpers/processes.js';

const ns = netnsSupport();
const why = !ns.ok ? ns.reason : process.getuid?.() !== 0 ? 'reading every namespace needs root' : null;
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.exitCode !== null || c.signalCode !== null) continue;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    await exited;
  }
  await stopAll();
});

describe.skipIf(why !== null)('portwatch serve --all-namespaces', () => {
  it('lists and exports the listeners of every namespace, each with its netns', async () => {
    const a = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }], { netns: true });
    const child = spawn(process.execPath, [CLI, 'serve', '-A', '--listen', '127.0.0.1:0', '--no-probe', '--no-config'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.push(child);
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    const [, base] = await waitFor(() => /serving (http:\/\/\S+)/.exec(err), `serve to start (stderr: ${err})`, 15_000);
    const listeners = async (): Promise<Listener[]> => {
      const res = await fetch(`${base}api/listeners`);
      return res.status === 200 ? ((await res.json()) as Listener[]) : [];
    };
    const inA = await waitFor(
      async () => (await listeners()).find((l) => l.port === a.ports[0] && l.process?.pid === a.pid),
      'the first namespace',
    );
    // A namespace made while serve runs.
    const b = await holdSockets([{ proto: 'udp', host: '0.0.0.0' }], { netns: true });
    const inB = await waitFor(
      async () => (await listeners()).find((l) => l.port === b.ports[0] && l.process?.pid === b.pid),
      'the new namespace',
      15_000,
    );
    expect(inA.netns).not.toBeNull();
    expect(inB.netns).not.toBeNull();
    expect(inA.netns).not.toBe(inB.netns);
    const metrics = await (await fetch(`${base}metrics`)).text();
    expect(metrics).toContain(`portwatch_listener_info{netns="${inA.netns}"`);
    expect(metrics).toMatch(
      new RegExp(
        `portwatch_listener_info\\{netns="${inB.netns}",container="",pod="",namespace="",protocol="udp",address="0\\.0\\.0\\.0",port="${b.ports[0]}",process="python3"\\} 1`,
      ),
    );
  }, 60_000);

  it('refuses -A with --netns-pid', async () => {
    const r = spawn(process.execPath, [CLI, 'serve', '-A', '--netns-pid', '1'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    r.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise((resolve) => r.once('exit', resolve));
    expect(code).toBe(2);
    expect(err).toMatch(/cannot be combined/);
  });
});
