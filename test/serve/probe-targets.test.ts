/**
 * Which listeners serve's HTTP probe leaves alone: the pure rule, and serve itself with real
 * processes whose names are those of non-HTTP servers (a symlink to node named redis-server
 * runs with that name, as the kernel's comm).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Listener } from '../../src/listener.js';
import { shouldProbe } from '../../src/serve/http-probe.js';
import { waitFor } from '../helpers/processes.js';
import { closeAll, startServe } from './helpers.js';

const children: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await closeAll();
  for (const c of children.splice(0)) {
    if (c.exitCode !== null || c.signalCode !== null || c.pid === undefined) continue;
    const exited = new Promise((r) => c.once('exit', r));
    process.kill(c.pid, 'SIGTERM');
    await exited;
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('shouldProbe', () => {
  const tcp = (port: number, name: string | null): Pick<Listener, 'protocol' | 'port' | 'process'> => ({
    protocol: 'tcp',
    port,
    process: name === null ? null : { pid: 1234, ppid: 1, name, command: name, uid: 0 },
  });
  it.each([
    [tcp(3000, 'node'), true],
    [tcp(3000, null), true],
    [tcp(8080, 'java'), true],
    [tcp(4000, 'beam.smp'), true], // Phoenix serves HTTP from the same runtime as RabbitMQ
    [tcp(6379, 'node'), false], // a well-known port, whoever holds it
    [tcp(22, null), false],
    [tcp(6380, 'redis-server'), false], // a well-known server on another port
    [tcp(2222, 'sshd'), false],
    [tcp(5433, 'postgres'), false],
    [tcp(3307, 'mysqld'), false],
    [tcp(3308, 'mariadbd'), false],
    [tcp(27018, 'mongod'), false],
    [tcp(11212, 'memcached'), false],
    [tcp(5353, 'dnsmasq'), false],
    [tcp(9050, 'tor'), false],
  ])('%j → %s', (l, expected) => {
    expect(shouldProbe(l)).toBe(expected);
  });
  it('never UDP', () => {
    expect(shouldProbe({ protocol: 'udp', port: 3000, process: null })).toBe(false);
  });
});

/**
 * A node process running as `name` that listens on 127.0.0.1 and counts the connections it
 * accepts (each is answered as an HTTP server would, then closed).
 */
async function namedServer(name: string): Promise<{ pid: number; port: number; connections: () => number }> {
  const dir = mkdtempSync(join(tmpdir(), 'portwatch-named-'));
  dirs.push(dir);
  const exe = join(dir, name);
  symlinkSync(process.execPath, exe);
  const script = `
    setTimeout(() => process.exit(3), 120000);
    require('node:net').createServer((s) => {
      console.log('connection');
      s.on('error', () => {});
      s.end('HTTP/1.1 200 OK\\r\\nContent-Length: 0\\r\\nConnection: close\\r\\n\\r\\n');
    }).listen(0, '127.0.0.1', function () { console.log(JSON.stringify({ port: this.address().port })); });`;
  const child = spawn(exe, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  const port = await waitFor(() => /\{"port":(\d+)\}/.exec(out)?.[1], `${name} to listen`);
  const pid = child.pid as number;
  expect(readFileSync(`/proc/${pid}/comm`, 'utf8').trim()).toBe(name);
  return { pid, port: Number(port), connections: () => out.split('\n').filter((l) => l === 'connection').length };
}

describe('serve does not probe well-known non-HTTP servers', () => {
  it('redis-server and sshd on ports of their own are listed but never connected to; dev servers are probed', async () => {
    const redis = await namedServer('redis-server');
    const sshd = await namedServer('sshd');
    const dev = await namedServer('devserver');
    const pids = new Set([redis.pid, sshd.pid, dev.pid]);
    // One probe at a time, in the order listeners are seen.
    const server = await startServe({ filter: (l) => l.process !== null && pids.has(l.process.pid), probe: { concurrency: 1 } });
    await waitFor(() => server.listeners().length === 3, 'the three listeners');
    await waitFor(() => server.listeners().find((l) => l.port === dev.port)?.http === 'http', 'the dev server to be probed');
    // A dev server seen after the others is probed after anything queued for them would have been.
    const late = await namedServer('devserver');
    pids.add(late.pid);
    await waitFor(() => server.listeners().find((l) => l.port === late.port)?.http === 'http', 'the later dev server to be probed');
    expect([dev.connections(), late.connections()]).toEqual([1, 1]);
    expect([redis.connections(), sshd.connections()]).toEqual([0, 0]);
    const probes = await server.metrics.probes.get();
    expect(probes.values.reduce((n, v) => n + v.value, 0)).toBe(2);
  });
});
