/**
 * The Engine API client against a real, private dockerd (test/helpers/docker-engine.ts), and
 * its socket handling against sockets made here. The live tests skip with the reason where
 * no dockerd can run, and fail instead under PORTWATCH_REQUIRE_DOCKER=1 (CI).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCgroupContainer } from '../../src/containers/cgroup-container.js';
import { findEngine, inspectContainer, listContainers, type Engine } from '../../src/containers/engine-api.js';
import { containerEvents, engineTimestamp, type ContainerEvent } from '../../src/containers/engine-events.js';
import { socketFailure } from '../../src/containers/engine-http.js';
import { engineSockets } from '../../src/containers/engine-socket.js';
import { containerOfProcess } from '../../src/containers/process-container.js';
import { PortwatchError } from '../../src/errors.js';
import { dockerAvailable, skipWithoutDocker, startDocker, TEST_IMAGE, type PrivateDocker } from '../helpers/docker-engine.js';

async function rejection(p: Promise<unknown>): Promise<PortwatchError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(PortwatchError);
  return e as PortwatchError;
}

describe('engine sockets', () => {
  it('lists Docker, then rootless Docker and Podman, then rootful Podman; DOCKER_HOST alone when set', () => {
    expect(engineSockets({}).map((c) => c.path)).toEqual(['/var/run/docker.sock', '/run/podman/podman.sock']);
    expect(engineSockets({ XDG_RUNTIME_DIR: '/run/user/1000/' }).map((c) => c.path)).toEqual([
      '/var/run/docker.sock',
      '/run/user/1000/docker.sock',
      '/run/user/1000/podman/podman.sock',
      '/run/podman/podman.sock',
    ]);
    expect(engineSockets({ DOCKER_HOST: 'unix:///srv/d.sock', XDG_RUNTIME_DIR: '/run/user/0' })).toEqual([
      { path: '/srv/d.sock', from: 'DOCKER_HOST' },
    ]);
    expect(engineSockets({ DOCKER_HOST: '', XDG_RUNTIME_DIR: 'relative' }).map((c) => c.path)).toEqual([
      '/var/run/docker.sock',
      '/run/podman/podman.sock',
    ]);
  });

  it('refuses DOCKER_HOST schemes other than unix:// with one clear error', () => {
    for (const value of ['tcp://127.0.0.1:2375', 'ssh://me@host', '/var/run/docker.sock', 'unix://relative.sock']) {
      let err: unknown = null;
      try {
        engineSockets({ DOCKER_HOST: value });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(PortwatchError);
      expect((err as PortwatchError).code).toBe('EENGINE');
      expect((err as PortwatchError).message).toMatch(/^DOCKER_HOST=.*\(DOCKER_HOST=unix:\/\/\/path\/to\/docker\.sock\)$/);
    }
  });

  it('DOCKER_HOST naming a missing socket: one error, one line, that says so', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pw-engine-'));
    try {
      const env = { DOCKER_HOST: `unix://${dir}/missing.sock` };
      for (const p of [findEngine({ env }), inspectContainer('web', { env }), listContainers({ env })]) {
        const e = await rejection(p);
        expect(e.code).toBe('EENGINE');
        expect(e.message).toBe(`DOCKER_HOST=unix://${dir}/missing.sock: no socket at ${dir}/missing.sock`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a socket that answers HTTP but is no engine is refused, and a silent one times out', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pw-engine-'));
    const servers: Server[] = [];
    try {
      const listen = async (name: string, handler: Parameters<typeof createServer>[1]): Promise<string> => {
        const server = createServer(handler);
        servers.push(server);
        const path = join(dir, name);
        await new Promise<void>((r) => server.listen(path, r));
        return path;
      };
      const notEngine = await listen('web.sock', (_req, res) => res.writeHead(404).end('not found'));
      const silent = await listen('silent.sock', () => {});
      const e1 = await rejection(findEngine({ env: { DOCKER_HOST: `unix://${notEngine}` } }));
      expect(e1.message).toMatch(/answered \/_ping with HTTP 404: it is not a Docker or Podman API socket$/);
      const started = Date.now();
      const e2 = await rejection(findEngine({ env: { DOCKER_HOST: `unix://${silent}` }, timeoutMs: 300 }));
      expect(e2.message).toMatch(/did not answer GET \/_ping within 300 ms$/);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      for (const s of servers) s.closeAllConnections();
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('bounds what it reads: a body too large, an event line too long; Podman is told by its header', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pw-engine-'));
    const path = join(dir, 'answers.sock');
    const server = createServer((req, res) => {
      if (req.url === '/_ping') res.writeHead(200, { 'Libpod-Api-Version': '5.4.0' }).end('OK');
      else if (req.url?.startsWith('/containers/')) res.writeHead(200).end(Buffer.alloc(5 * 1024 * 1024, 0x20));
      else if (req.url?.startsWith('/events')) {
        res.writeHead(200);
        res.write(`${JSON.stringify({ Type: 'container', Action: 'start', Actor: { ID: 'f'.repeat(64), Attributes: { name: 'a' } } })}\n`);
        res.end('x'.repeat(4096));
      }
    });
    await new Promise<void>((r) => server.listen(path, r));
    try {
      const engine = await findEngine({ env: { DOCKER_HOST: `unix://${path}` } });
      expect(engine.runtime).toBe('podman');
      const big = await rejection(inspectContainer('web', { engine }));
      expect(big).toMatchObject({ code: 'EENGINE', message: expect.stringMatching(/larger than 4194304 bytes/) });
      const seen: string[] = [];
      const err = await (async () => {
        for await (const ev of containerEvents({ engine, maxLineBytes: 1024 })) seen.push(`${ev.action} ${ev.name} ${ev.runtime}`);
      })().then(
        () => null,
        (e: unknown) => e,
      );
      expect(seen).toEqual(['start a podman']);
      expect(err).toMatchObject({ code: 'EENGINE', message: expect.stringMatching(/sent an event longer than 1024 bytes$/) });
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says what to do about a socket it may not open', () => {
    expect(socketFailure('/var/run/docker.sock', Object.assign(new Error('x'), { code: 'EACCES' }))).toBe(
      'permission denied on /var/run/docker.sock (run as root, or as a member of the group that owns the socket)',
    );
  });

  it('refuses a container reference no engine accepts before asking one', async () => {
    const e = await rejection(inspectContainer('../etc', { env: { DOCKER_HOST: 'unix:///nonexistent.sock' } }));
    expect(e.code).toBe('EUSAGE');
  });

  it('writes `since` as seconds.nanoseconds', () => {
    expect(engineTimestamp(1_700_000_000_123)).toBe('1700000000.123000000');
    expect(engineTimestamp(5)).toBe('0.005000000');
  });
});

describe('a real Docker engine', () => {
  const reason = dockerAvailable();
  let docker: PrivateDocker | null = null;
  let engine: Engine | null = null;
  let startError: string | null = null;

  beforeAll(async () => {
    if (reason !== null) return;
    try {
      docker = await startDocker();
      engine = await findEngine({ env: { DOCKER_HOST: docker.host } });
    } catch (e) {
      startError = `the private dockerd did not start: ${(e as Error).message}`;
    }
  }, 60_000);

  afterAll(async () => {
    await docker?.teardown();
  }, 60_000);

  const need = (ctx: Parameters<typeof skipWithoutDocker>[0]): { docker: PrivateDocker; engine: Engine } => {
    skipWithoutDocker(ctx, reason ?? startError);
    return { docker: docker!, engine: engine! };
  };

  it('finds the engine through DOCKER_HOST and knows it is Docker', (ctx) => {
    const { docker: d, engine: e } = need(ctx);
    expect(e).toMatchObject({ socketPath: d.socketPath, from: 'DOCKER_HOST', runtime: 'docker' });
    expect(e.apiVersion).toMatch(/^1\.\d+$/);
  });

  it('inspects a container by name and by id prefix; its process cgroup names the same id', async (ctx) => {
    const { docker: d, engine: e } = need(ctx);
    const { id, pid } = await d.runContainer('pw-web');
    const details = await inspectContainer('pw-web', { engine: e });
    expect(details).toMatchObject({ id, name: 'pw-web', image: TEST_IMAGE, pid, running: true, status: 'running', runtime: 'docker' });
    expect(details.pid).toBeGreaterThan(0);
    expect((await inspectContainer(id.slice(0, 12), { engine: e })).id).toBe(id);
    expect(parseCgroupContainer(readFileSync(`/proc/${details.pid}/cgroup`, 'utf8'))).toEqual({ id, runtime: 'docker', podUid: null });
    expect(containerOfProcess(details.pid)).toEqual({ id, runtime: 'docker', podUid: null });
    expect(containerOfProcess(process.pid)?.id).not.toBe(id);
    const listed = await listContainers({ engine: e });
    expect(listed.find((c) => c.id === id)).toMatchObject({ name: 'pw-web', image: TEST_IMAGE, state: 'running', runtime: 'docker' });
  });

  it('an unknown name is ENOCONTAINER', async (ctx) => {
    const { docker: d } = need(ctx);
    const e = await rejection(inspectContainer('pw-no-such-container', { env: { DOCKER_HOST: d.host } }));
    expect(e.code).toBe('ENOCONTAINER');
    expect(e.message).toMatch(/^no container named pw-no-such-container \(asked docker on /);
  });

  it('reports die when a container stops and start when it starts again; an abort ends the stream cleanly', async (ctx) => {
    const { docker: d, engine: e } = need(ctx);
    const { id } = await d.runContainer('pw-events');
    const controller = new AbortController();
    const deadline = setTimeout(() => controller.abort(), 20_000);
    const seen: ContainerEvent[] = [];
    const since = Date.now() - 1_000;
    const consumer = (async () => {
      for await (const ev of containerEvents({ engine: e, since, signal: controller.signal })) {
        if (ev.id !== id) continue;
        seen.push(ev);
        if (ev.action === 'die') {
          expect(await inspectContainer(id, { engine: e })).toMatchObject({ running: false, pid: 0 });
          await d.docker(['start', 'pw-events']);
        }
        if (ev.action === 'start' && seen.some((s) => s.action === 'die')) controller.abort();
      }
    })();
    try {
      await d.docker(['stop', '-t', '0', 'pw-events']);
      await consumer; // returns, without an error, once aborted
    } finally {
      clearTimeout(deadline);
      controller.abort();
    }
    const actions = seen.map((s) => s.action);
    expect(actions.indexOf('die')).toBeGreaterThanOrEqual(0);
    expect(actions.lastIndexOf('start')).toBeGreaterThan(actions.indexOf('die'));
    const die = seen.find((s) => s.action === 'die')!;
    expect(die).toMatchObject({ name: 'pw-events', image: TEST_IMAGE, runtime: 'docker' });
    expect(die.exitCode).toEqual(expect.any(Number));
    expect(die.time).toBeGreaterThanOrEqual(since);
    const after = await inspectContainer('pw-events', { engine: e });
    expect(after.running).toBe(true);
    expect(containerOfProcess(after.pid)?.id).toBe(id);
  });

  it('an aborted subscription with no events ends without an error', async (ctx) => {
    const { engine: e } = need(ctx);
    const controller = new AbortController();
    const events = containerEvents({ engine: e, signal: controller.signal });
    setTimeout(() => controller.abort(), 200);
    const started = Date.now();
    const r = await events.next();
    expect(r.done).toBe(true);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
