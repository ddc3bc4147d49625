/**
 * `portwatch forward --container NAME` against a real, private Docker engine: a busybox
 * httpd in a container with `--network none` (reachable from nowhere but itself) is
 * forwarded to the host; `docker stop` ends the forward and says so, `docker start`
 * brings it back into the container's new process, `docker rm` ends the command.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { netnsConnectorUnavailable } from '../../src/forward/netns-connector.js';
import { startCli, type LiveCli } from '../helpers/cli.js';
import { dockerAvailable, skipWithoutDocker, startDocker, type PrivateDocker } from '../helpers/docker-engine.js';
import { waitFor } from '../helpers/processes.js';
import { portIsFree } from '../helpers/sockets.js';

const reason = dockerAvailable() ?? netnsConnectorUnavailable();

interface ForwardJson {
  type: string;
  local: { port: number }[];
  remote: { port: number };
  reason?: string;
}

function events(cli: LiveCli): ForwardJson[] {
  return cli
    .stdout()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as ForwardJson);
}

async function status(port: number): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(10_000) });
  await res.arrayBuffer();
  return res.status;
}

describe('portwatch forward --container', () => {
  let docker: PrivateDocker | null = null;
  let startError: string | null = null;
  let cli: LiveCli | null = null;

  beforeAll(async () => {
    if (reason !== null) return;
    try {
      docker = await startDocker();
    } catch (e) {
      startError = `the private dockerd did not start: ${(e as Error).message}`;
    }
  }, 60_000);
  afterAll(async () => {
    if (cli !== null && cli.child.exitCode === null) cli.child.kill('SIGKILL');
    await docker?.teardown();
  }, 60_000);

  it('forwards the container’s port, follows stop and start, and ends when it is removed', async (ctx) => {
    skipWithoutDocker(ctx, reason ?? startError);
    const d = docker!;
    await d.runContainer('pw-forward-web');
    cli = startCli(['forward', '--container', 'pw-forward-web', '--json', '--no-config'], { DOCKER_HOST: d.host });
    const c = cli;
    await waitFor(
      () => events(c).some((e) => e.type === 'forward' && e.remote.port === 8080),
      `a forward of :8080 (stderr: ${c.stderr()})`,
      20_000,
    );
    const local = events(c).find((e) => e.type === 'forward')!.local[0]!.port;
    expect(await status(local)).toBeLessThan(500);

    await d.docker(['stop', '-t', '1', 'pw-forward-web']);
    await waitFor(() => events(c).some((e) => e.type === 'unforward'), 'the unforward after docker stop', 20_000);
    expect(events(c).find((e) => e.type === 'unforward')!.reason).toBe('target-gone');
    expect(c.stderr()).toMatch(/container pw-forward-web stopped; its forwards are closed/);
    expect(await portIsFree(local, '127.0.0.1')).toBe(true);

    await d.docker(['start', 'pw-forward-web']);
    await waitFor(() => events(c).filter((e) => e.type === 'forward').length === 2, 'the forward after docker start', 20_000);
    const again = events(c).filter((e) => e.type === 'forward')[1]!.local[0]!.port;
    expect(await status(again)).toBeLessThan(500);

    await d.docker(['rm', '-f', 'pw-forward-web']);
    const { code } = await c.exited;
    expect(code).toBe(1);
    expect(c.stderr()).toMatch(/container pw-forward-web was removed/);
  }, 90_000);
});
