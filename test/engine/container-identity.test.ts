/**
 * A listener's container: what is said (pure), and how long a scan waits for the engine,
 * against an engine-shaped HTTP server on a unix socket made here (slow on purpose).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { CgroupContainer } from '../../src/containers/cgroup-container.js';
import { containerLabel, containerMatches, listenerContainer, soleContainer } from '../../src/engine/container-identity.js';
import { ContainerIndex } from '../../src/engine/container-index.js';

const ID_A = 'a'.repeat(64);
const ID_B = `b${'0'.repeat(63)}`;
const a: CgroupContainer = { id: ID_A, runtime: 'docker', podUid: null };
const b: CgroupContainer = { id: ID_B, runtime: 'kubernetes', podUid: '11111111-2222-3333-4444-555555555555' };

describe('container identity (pure)', () => {
  it('names what the engine said, and null for what it did not', () => {
    expect(listenerContainer(a, null)).toEqual({ id: ID_A, name: null, runtime: 'docker', image: null, pod: null, namespace: null });
    const labels = { 'io.kubernetes.pod.name': 'web-7d9', 'io.kubernetes.pod.namespace': 'shop' };
    expect(listenerContainer(b, { name: 'k8s_web', image: 'nginx:1.27', labels })).toEqual({
      id: ID_B,
      name: 'k8s_web',
      runtime: 'kubernetes',
      image: 'nginx:1.27',
      pod: 'web-7d9',
      namespace: 'shop',
    });
    expect(listenerContainer(a, { name: '', image: '', labels: {} }).name).toBeNull();
  });

  it('a namespace has a container only when every process whose cgroup was read is in that one', () => {
    expect(soleContainer([a, a, undefined])).toEqual(a);
    expect(soleContainer([a, b])).toBeNull(); // a pod: several containers share the namespace
    expect(soleContainer([a, null])).toBeNull(); // a host process in it (nsenter)
    expect(soleContainer([undefined])).toBeNull();
    expect(soleContainer([])).toBeNull();
  });

  it('--container matches a name, a full id, or an id prefix of 4+ hex digits', () => {
    const c = { id: ID_A, name: 'web' };
    expect(containerMatches(c, 'web')).toBe(true);
    expect(containerMatches(c, '/web')).toBe(true);
    expect(containerMatches(c, 'aaaa')).toBe(true);
    expect(containerMatches(c, 'aaa')).toBe(false);
    expect(containerMatches(c, ID_A)).toBe(true);
    expect(containerMatches(c, 'we')).toBe(false);
    expect(containerMatches(null, 'web')).toBe(false);
    expect(containerLabel({ id: ID_A, name: null })).toBe('aaaaaaaaaaaa');
  });
});

const dirs: string[] = [];
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

let requests = 0;

/** An engine that answers /_ping at once and the container list after `delayMs`. */
async function slowEngine(delayMs: number): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'pw-engine-'));
  dirs.push(dir);
  const path = join(dir, 'docker.sock');
  const server = createServer((req, res) => {
    requests++;
    if (req.url === '/_ping') return void res.writeHead(200, { 'Api-Version': '1.45' }).end('OK');
    if (req.url?.startsWith('/containers/json')) {
      const list = [{ Id: ID_A, Names: ['/web'], Image: 'busybox:1', State: 'running', Labels: {} }];
      return void setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(list)), delayMs);
    }
    res.writeHead(404).end('{"message":"no such container"}');
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(path, r));
  return `unix://${path}`;
}

describe('container index: the engine never holds a scan up for long', () => {
  it('waits at most waitMs; what arrives later is kept and announced', async () => {
    const host = await slowEngine(400);
    let changed = 0;
    const index = new ContainerIndex({ env: { DOCKER_HOST: host }, changed: () => changed++ });
    const started = performance.now();
    await index.lookUp([a, { ...a, id: 'c'.repeat(64) }], 50);
    expect(performance.now() - started).toBeLessThan(300);
    expect(index.describe(a).name).toBeNull();
    const before = index.describe(a);
    await new Promise<void>((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error('no late answer within 5 s')), 5_000);
      const poll = setInterval(() => {
        if (changed > 0) {
          clearInterval(poll);
          clearTimeout(deadline);
          resolve();
        }
      }, 20);
    });
    const after = index.describe(a);
    expect(after).toEqual({ id: ID_A, name: 'web', runtime: 'docker', image: 'busybox:1', pod: null, namespace: null });
    expect(after).not.toBe(before);
    expect(index.describe(a)).toBe(after); // the same object while nothing changes
  });

  it('no engine: names stay null and nothing waits', async () => {
    const index = new ContainerIndex({ env: { DOCKER_HOST: `unix://${tmpdir()}/pw-no-such-engine-${process.pid}.sock` } });
    const started = performance.now();
    await index.lookUp([a], 2_000);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(index.describe(a).name).toBeNull();
  });

  it('containerd and CRI-O containers are not asked about (no Docker-compatible API knows them)', async () => {
    const index = new ContainerIndex({ env: { DOCKER_HOST: await slowEngine(0) } });
    requests = 0;
    await index.lookUp(
      [
        { id: ID_A, runtime: 'containerd', podUid: null },
        { id: ID_B, runtime: 'cri-o', podUid: null },
      ],
      1_000,
    );
    expect(requests).toBe(0);
    expect(index.describe({ id: ID_A, runtime: 'containerd', podUid: null })).toMatchObject({ runtime: 'containerd', name: null });
    await index.lookUp([a], 1_000);
    expect(requests).toBeGreaterThan(0);
  });
});
