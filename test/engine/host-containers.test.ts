/**
 * Containers named in host mode, against a real, private Docker engine
 * (test/helpers/docker-engine.ts): `list -A --json` and the host watcher name the container
 * of a busybox httpd's listener (id from its cgroup, name and image from the engine). Skips
 * with the reason where no dockerd can run; fails instead under PORTWATCH_REQUIRE_DOCKER=1.
 */
import { readlinkSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watchHost, type HostWatcher, type NamespaceEvent } from '../../src/engine/host-watcher.js';
import type { Listener, PortEvent } from '../../src/listener.js';
import { runCli } from '../helpers/cli.js';
import { dockerAvailable, skipWithoutDocker, startDocker, TEST_IMAGE, type PrivateDocker } from '../helpers/docker-engine.js';
import { waitFor } from '../helpers/processes.js';

const reason = dockerAvailable();
let engine: PrivateDocker | null = null;
let web: { id: string; pid: number } | null = null;

function netnsOfPid(pid: number): string {
  return /^net:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/ns/net`))![1]!;
}

beforeAll(async () => {
  if (reason !== null) return;
  engine = await startDocker();
  web = await engine.runContainer('pw-host-web');
}, 60_000);

afterAll(async () => {
  await engine?.teardown();
}, 60_000);

describe('host mode names containers', () => {
  it('list -A --json: the httpd listener carries its container (id, name, image) and its netns', async (ctx) => {
    skipWithoutDocker(ctx, reason);
    const { id, pid } = web!;
    const env = { DOCKER_HOST: engine!.host };
    const r = await runCli(['list', '-A', '--json'], { env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const listeners = JSON.parse(r.stdout) as Listener[];
    const httpd = listeners.filter((l) => l.port === 8080 && l.netns === netnsOfPid(pid));
    expect(httpd.length).toBeGreaterThan(0);
    for (const l of httpd) {
      expect(l.process?.name).toBe('busybox');
      expect(l.container).toEqual({ id, name: 'pw-host-web', runtime: 'docker', image: TEST_IMAGE, pod: null, namespace: null });
    }
    // Listeners on the host have no container.
    expect(listeners.filter((l) => l.netns !== netnsOfPid(pid)).every((l) => l.container === null)).toBe(true);

    const only = await runCli(['list', '--container', 'pw-host-web', '--json'], { env });
    expect(only.code).toBe(0);
    expect((JSON.parse(only.stdout) as Listener[]).map((l) => l.inode).sort()).toEqual(httpd.map((l) => l.inode).sort());
    const byId = await runCli(['list', '--container', id.slice(0, 12), '-q'], { env });
    expect(byId.stdout.trim()).toBe('8080');
    const table = await runCli(['list', '-A', '--container', 'pw-host-web'], { env });
    expect(table.stdout).toMatch(/^NETNS\s+CONTAINER\s+PROTO/);
    expect(table.stdout).toContain('pw-host-web');
  });

  it(
    'the host watcher: a container started while watching opens its namespace and its listener, named',
    { timeout: 60_000 },
    async (ctx) => {
      skipWithoutDocker(ctx, reason);
      const w: HostWatcher = watchHost({ trigger: 'poll', containers: { env: { DOCKER_HOST: engine!.host } } });
      try {
        const events: (PortEvent | NamespaceEvent)[] = [];
        for (const type of ['open', 'namespace-open'] as const) w.on(type, (e: PortEvent | NamespaceEvent) => events.push(e));
        await w.whenReady();
        const second = await engine!.runContainer('pw-host-web2');
        const netns = netnsOfPid(second.pid);
        const open = await waitFor(
          () => events.find((e): e is PortEvent => e.type === 'open' && e.listener.netns === netns && e.listener.port === 8080),
          "the second container's listener",
          20_000,
        );
        expect(open.listener.container).toMatchObject({ id: second.id, name: 'pw-host-web2', image: TEST_IMAGE, runtime: 'docker' });
        const nsOpen = events.find((e): e is NamespaceEvent => e.type === 'namespace-open' && e.netns === netns);
        expect(nsOpen?.container).toMatchObject({ id: second.id, name: 'pw-host-web2' });
        expect(events.indexOf(nsOpen!)).toBeLessThan(events.indexOf(open));
      } finally {
        await w.close();
      }
    },
  );
});
