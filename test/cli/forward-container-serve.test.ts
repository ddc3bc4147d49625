/**
 * `portwatch forward --container NAME --serve`: serve's table and /api/forwards follow the
 * container across `docker stop` (both empty: its listeners closed, its forward gone) and
 * `docker start` (both back, from the new session's watcher), on one event stream.
 * Against a real, private Docker engine (skipped without one unless PORTWATCH_REQUIRE_DOCKER=1).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ForwardView } from '../../src/forward/events.js';
import { netnsConnectorUnavailable } from '../../src/forward/netns-connector.js';
import { startCli, type LiveCli } from '../helpers/cli.js';
import { dockerAvailable, skipWithoutDocker, startDocker, type PrivateDocker } from '../helpers/docker-engine.js';
import { waitFor } from '../helpers/processes.js';
import { SseClient, closeAll, httpGet } from '../serve/helpers.js';

const reason = dockerAvailable() ?? netnsConnectorUnavailable();

async function json<T>(port: number, path: string): Promise<T> {
  const r = await httpGet(port, path);
  expect(r.status).toBe(200);
  return JSON.parse(r.body) as T;
}

describe('portwatch forward --container --serve', () => {
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
    await closeAll();
    if (cli !== null && cli.child.exitCode === null) cli.child.kill('SIGKILL');
    await docker?.teardown();
  }, 60_000);

  it('follows the container’s stop and start in /api/listeners, /api/forwards and the event stream', async (ctx) => {
    skipWithoutDocker(ctx, reason ?? startError);
    const d = docker!;
    await d.runContainer('pw-forward-serve');
    cli = startCli(['forward', '--container', 'pw-forward-serve', '--serve', '127.0.0.1:0', '--no-config'], { DOCKER_HOST: d.host });
    const c = cli;
    const port = Number((await waitFor(() => /serving http:\/\/127\.0\.0\.1:(\d+)\//.exec(c.stderr()), `serve (${c.stderr()})`))[1]);
    const forwarded = (): Promise<ForwardView[]> => json<ForwardView[]>(port, '/api/forwards');
    const listening = async (): Promise<number[]> => (await json<{ port: number }[]>(port, '/api/listeners')).map((l) => l.port);
    await waitFor(async () => (await forwarded()).some((f) => f.remote.port === 8080), `the forward of :8080 (${c.stderr()})`, 20_000);
    expect(await listening()).toContain(8080);
    const sse = new SseClient(port, '/api/events?snapshot=1');
    await sse.until((s) => s.named('forwards').length === 1, 'the stream');

    await d.docker(['stop', '-t', '1', 'pw-forward-serve']);
    await sse.until((s) => s.named('unforward').length === 1 && s.events().some((e) => e.type === 'close'), 'unforward and close', 20_000);
    expect(await forwarded()).toEqual([]);
    expect(await listening()).toEqual([]);

    await d.docker(['start', 'pw-forward-serve']);
    await sse.until((s) => s.named('forward').length === 1 && s.events().some((e) => e.type === 'open'), 'forward and open', 20_000);
    expect((await forwarded()).map((f) => f.remote.port)).toEqual([8080]);
    expect(await listening()).toContain(8080);
    const health = await json<{ status: string; lastError: string | null }>(port, '/healthz');
    expect(health).toMatchObject({ status: 'ok', lastError: null });

    c.child.kill('SIGINT');
    expect((await c.exited).code).toBe(0);
  }, 90_000);
});
