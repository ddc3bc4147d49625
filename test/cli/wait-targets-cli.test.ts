/**
 * `portwatch wait` on targets as wait-on writes them, end to end: real HTTP(S) servers, real
 * sockets held by another process, the built CLI.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Listener } from '../../src/listener.js';
import { runCli, startCli, type LiveCli } from '../helpers/cli.js';
import { holdSockets, stopAll, waitFor } from '../helpers/processes.js';
import { unusedPort } from '../helpers/sockets.js';

const live: LiveCli[] = [];
const servers: Server[] = [];
afterEach(async () => {
  for (const c of live.splice(0)) {
    if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
    await c.exited;
  }
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  await stopAll();
});

function start(args: string[]): LiveCli {
  const c = startCli(args, { NO_COLOR: '1' });
  live.push(c);
  return c;
}

interface Seen {
  host: string | undefined;
  url: string | undefined;
  status: number;
}

/** An HTTP(S) server in this process answering `statuses` in turn (the last one from then on). */
async function serve(port: number, host: string, statuses: number[], tls?: { key: string; cert: string }): Promise<Seen[]> {
  const seen: Seen[] = [];
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const status = statuses[Math.min(seen.length, statuses.length - 1)] as number;
    seen.push({ host: req.headers.host, url: req.url, status });
    res.writeHead(status).end('ok');
  };
  const server = tls ? createHttpsServer(tls, handler) : createHttpServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(port, host, r));
  return seen;
}

describe('portwatch wait on URLs', () => {
  it('asks the URL once its port listens, and waits through 503 until 200', async () => {
    const port = await unusedPort('::1');
    const w = start(['wait', `http://localhost:${port}/health`, '--timeout', '20s']);
    await waitFor(() => w.child.pid, 'the CLI to start');
    const seen = await serve(port, '::1', [503, 503, 200]); // ::1 only: found through the socket table
    expect(await w.exited).toEqual({ code: 0, signal: null });
    expect(seen.map((s) => s.status)).toEqual([503, 503, 200]);
    expect(seen[0]).toMatchObject({ host: `localhost:${port}`, url: '/health' });
    expect(w.stdout()).toContain(`http://localhost:${port}/health answered 200\n`);
    expect(w.stdout()).toMatch(new RegExp(`\\[::1\\]:${port}\\s+${process.pid}\\s`));
  });

  it('waits for a mixed set: a URL, a TCP port on ::1, a UDP port, a plain port', async () => {
    const [httpPort, tcpPort, udpPort, plainPort] = [await unusedPort(), await unusedPort('::1'), await unusedPort(), await unusedPort()];
    const holder = await holdSockets([]);
    const w = start([
      'wait',
      `http://127.0.0.1:${httpPort}/ready`,
      `tcp:[::1]:${tcpPort},udp:localhost:${udpPort}`,
      String(plainPort),
      '--json',
      '--timeout',
      '20s',
    ]);
    await holder.open({ proto: 'udp', host: '127.0.0.1', port: udpPort });
    await holder.open({ proto: 'tcp', host: '::', port: plainPort });
    const seen = await serve(httpPort, '0.0.0.0', [503, 200]);
    await waitFor(() => seen.some((s) => s.status === 200), 'the URL to be asked until it answers 200');
    await holder.open({ proto: 'tcp', host: '::1', port: tcpPort });
    expect(await w.exited).toEqual({ code: 0, signal: null });
    const found = (JSON.parse(w.stdout()) as Listener[]).map((l) => `${l.protocol} ${l.address} ${l.port}`).sort();
    expect(found).toEqual([`tcp 0.0.0.0 ${httpPort}`, `tcp ::1 ${tcpPort}`, `udp 127.0.0.1 ${udpPort}`, `tcp :: ${plainPort}`].sort());
    expect(seen.at(-1)?.status).toBe(200);
  });

  it('a range is each of its ports: wait P-(P+1) answers with the listeners of both', async () => {
    // Two neighbouring ports held by one process: the second may be taken, then try elsewhere (bounded).
    let held: { pid: number; port: number } | null = null;
    for (let attempt = 0; attempt < 5 && held === null; attempt++) {
      const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
      const port = holder.ports[0] as number;
      if (port === 65535) continue;
      held = await holder.open({ proto: 'tcp', host: '127.0.0.1', port: port + 1 }).then(
        () => ({ pid: holder.pid, port }),
        () => null, // taken: the holder ended
      );
    }
    if (held === null) throw new Error('no two neighbouring free ports in 5 tries');
    const r = await runCli(['wait', `${held.port}-${held.port + 1}`, '--json', '--timeout', '10s']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const found = (JSON.parse(r.stdout) as Listener[]).map((l) => [l.port, l.process?.pid]);
    expect(found.sort()).toEqual([
      [held.port, held.pid],
      [held.port + 1, held.pid],
    ]);
  });

  it('never asks a URL whose host the listening address does not serve, and says so at the timeout', async () => {
    const port = await unusedPort('::1');
    const seen = await serve(port, '::1', [200]);
    const r = await runCli(['wait', `http://127.0.0.1:${port}/`, `udp:${port}`, '--timeout', '800ms']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`portwatch: timed out after 800 ms waiting for udp port ${port}, http://127.0.0.1:${port}/ (not listening)\n`);
    expect(seen).toEqual([]);
  });

  it('--status insists on the codes named; the timeout names the last answer', async () => {
    const port = await unusedPort();
    const seen = await serve(port, '127.0.0.1', [204]);
    const strict = await runCli(['wait', `http://localhost:${port}/`, '--status', '200', '--timeout', '1s']);
    expect(strict.code).toBe(1);
    expect(strict.stderr).toBe(`portwatch: timed out after 1000 ms waiting for http://localhost:${port}/ (last answer 204)\n`);
    expect(seen.length).toBeGreaterThanOrEqual(2); // asked again after a back-off
    const ok = await runCli(['wait', `http://localhost:${port}/`, '--status', '200,204', '--status', '301', '--timeout', '10s']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('answered 204');
  });

  it('a 404 is an answer below 500: the server is up', async () => {
    const port = await unusedPort();
    await serve(port, '127.0.0.1', [404]);
    const r = await runCli(['wait', `http://localhost:${port}/nothing-here`, '--timeout', '10s']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('answered 404');
  });
});

describe('portwatch wait on https with a self-signed certificate', () => {
  let dir = '';
  let tls: { key: string; cert: string } | null = null;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'portwatch-tls-'));
    const r = spawnSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-keyout', 'key.pem', '-out', 'cert.pem'],
      { cwd: dir, encoding: 'utf8' },
    );
    if (r.status === 0) tls = { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is refused (naming --insecure) unless --insecure is given', async (ctx) => {
    if (tls === null) {
      if (process.env.PORTWATCH_REQUIRE_OPENSSL) throw new Error('openssl could not make a certificate');
      return ctx.skip('openssl is not available to make a self-signed certificate');
    }
    const port = await unusedPort();
    await serve(port, '127.0.0.1', [200], tls);
    const strict = await runCli(['wait', `https://localhost:${port}/`, '--timeout', '1s']);
    expect(strict.code).toBe(1);
    expect(strict.stderr).toMatch(/\(last attempt: [A-Z_]+; --insecure accepts it\)\n$/);
    const insecure = await runCli(['wait', `https://localhost:${port}/`, '--insecure', '--timeout', '10s']);
    expect(insecure.code).toBe(0);
    expect(insecure.stdout).toContain(`https://localhost:${port}/ answered 200`);
  });

  it('an https:// URL at a plain HTTP server says that no TLS answered', async () => {
    const port = await unusedPort();
    await serve(port, '127.0.0.1', [200]);
    const r = await runCli(['wait', `https://127.0.0.1:${port}/`, '--timeout', '1s']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\(last attempt: EPROTO: no TLS there; is it a plain http:\/\/ server\?\)\n$/);
  });
});

describe('portwatch wait on tcp: and udp: targets', () => {
  it('a host restricts the address: tcp:127.0.0.1 is not served by ::1, tcp:localhost is', async () => {
    const holder = await holdSockets([{ proto: 'tcp', host: '::1' }]);
    const port = holder.ports[0] as number;
    const v4 = await runCli(['wait', `tcp:127.0.0.1:${port}`, '--timeout', '500ms']);
    expect(v4.code).toBe(1);
    expect(v4.stderr).toBe(`portwatch: timed out after 500 ms waiting for tcp:127.0.0.1:${port}\n`);
    const local = await runCli(['wait', `tcp:localhost:${port}`, '--json', '--timeout', '10s']);
    expect(local.code).toBe(0);
    expect((JSON.parse(local.stdout) as Listener[]).map((l) => l.process?.pid)).toEqual([holder.pid]);
  });

  it('--closed waits until a host-restricted UDP target is gone', async () => {
    const holder = await holdSockets([{ proto: 'udp', host: '127.0.0.1' }]);
    const port = holder.ports[0] as number;
    const w = start(['wait', `udp:127.0.0.1:${port}`, `udp:[::1]:${port}`, '--closed', '--timeout', '20s']);
    let exitedAt = Infinity;
    w.child.once('exit', () => (exitedAt = performance.now()));
    await waitFor(() => w.child.pid, 'the CLI to start');
    const closedAt = performance.now();
    await holder.close(0);
    expect(await w.exited).toEqual({ code: 0, signal: null });
    expect(exitedAt).toBeGreaterThanOrEqual(closedAt);
    expect(w.stdout()).toBe('');
  });

  it.each([
    [
      ['http://localhost:3000/', '--closed'],
      /^portwatch: --closed waits for ports, not URLs: drop http:\/\/localhost:3000\/ or --closed\n$/,
    ],
    [['3000', '--status', '200'], /^portwatch: --status applies to http:\/\/ and https:\/\/ targets only\n$/],
    [['http://localhost:3000/', '--insecure'], /^portwatch: --insecure applies to https:\/\/ targets only\n$/],
    [['http://localhost:3000/', '--status', 'ok'], /^portwatch: invalid --status 'ok': use an HTTP status, e.g. 200 or 200,204\n$/],
    [['tcp:db:5432'], /^portwatch: invalid target 'tcp:db:5432': 'db' is a host name/],
    [['http://localhost:3000/', '--netns-pid', String(process.pid)], /^portwatch: URL targets cannot be combined with --netns-pid/],
  ])('usage error %j: one line, exit 2', async (args, message) => {
    const r = await runCli(['wait', ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
