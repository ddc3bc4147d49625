/**
 * serve against clients and situations that used to exhaust or fool it: duplicate Host
 * headers, idle connections, too many connections, a --netns-pid whose namespace cannot be
 * compared (unprivileged), a --netns-pid process that exits, and a `localhost` that
 * /etc/hosts maps elsewhere.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI } from '../helpers/cli.js';
import { holdSockets, netnsSupport, stopAll, waitFor } from '../helpers/processes.js';
import { closeAll, httpGet, startServe } from './helpers.js';

const sockets = new Set<Socket>();
const servers: Server[] = [];
const pids: number[] = [];

afterEach(async () => {
  for (const s of sockets) s.destroy();
  sockets.clear();
  for (const pid of pids.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
  await closeAll();
  await stopAll();
});

function rawConnect(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.on('error', reject);
    sockets.add(s);
  });
}

function rawRequest(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const s = connect({ host: '127.0.0.1', port }, () => s.write(text));
    sockets.add(s);
    s.on('data', (d: Buffer) => (out += d.toString('latin1')));
    s.on('end', () => resolve(out));
    s.on('close', () => resolve(out));
    s.on('error', reject);
    s.setTimeout(5_000, () => s.destroy());
  });
}

function isClosed(s: Socket): boolean {
  return s.destroyed || s.readableEnded;
}

const haveNetns = netnsSupport();
const isRoot = process.getuid?.() === 0;

describe('serve under hostile clients', () => {
  it('answers two Host headers with 400, whichever comes first', async () => {
    const server = await startServe({ probe: false, filter: () => false });
    const reply = await rawRequest(
      server.port,
      'GET /healthz HTTP/1.1\r\nHost: localhost\r\nHost: evil.example\r\nConnection: close\r\n\r\n',
    );
    expect(reply).toMatch(/^HTTP\/1\.1 400 /);
    expect((await httpGet(server.port, '/healthz')).status).toBe(200);
  });

  it('closes client connections that stay idle', async () => {
    const server = await startServe({ probe: false, filter: () => false, idleTimeoutMs: 300 });
    const idle = await Promise.all(Array.from({ length: 20 }, () => rawConnect(server.port)));
    for (const s of idle) s.on('data', () => {});
    await waitFor(() => idle.every(isClosed), 'serve to close 20 idle connections', 10_000);
  });

  it('refuses connections beyond maxConnections and serves again when they go', async () => {
    const server = await startServe({ probe: false, filter: () => false, maxConnections: 4, idleTimeoutMs: 60_000 });
    const held = await Promise.all(Array.from({ length: 10 }, () => rawConnect(server.port)));
    for (const s of held) s.on('data', () => {});
    await waitFor(() => held.filter(isClosed).length >= 6, 'serve to refuse the connections beyond 4');
    expect(held.filter((s) => !isClosed(s)).length).toBeLessThanOrEqual(4);
    for (const s of held) s.destroy();
    await waitFor(
      async () => (await httpGet(server.port, '/healthz').catch(() => ({ status: 0 }))).status === 200,
      'serve to answer again',
    );
  });
});

describe('serve and --netns-pid', () => {
  it.skipIf(!haveNetns.ok)('closes the listeners of a --netns-pid process that exits, with events, and says so in /healthz', async () => {
    // The listener's holder outlives the process serve was pointed at, as in a container
    // whose other processes keep running: the namespace can no longer be read through it.
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }], { netns: true });
    const target = spawn('nsenter', ['-t', String(holder.pid), '-n', 'sleep', '60'], { stdio: 'ignore' });
    pids.push(target.pid as number);
    const server = await startServe({ probe: false, watchOptions: { netnsPid: target.pid as number, interval: 50 } });
    await waitFor(() => server.listeners().some((l) => l.port === holder.ports[0]), 'the namespace listener');
    process.kill(target.pid as number, 'SIGKILL');
    await waitFor(() => server.listeners().length === 0, 'its listeners to close');
    const health = JSON.parse((await httpGet(server.port, '/healthz')).body) as { status: string; lastError: string };
    expect(health.status).toBe('degraded');
    expect(health.lastError).toContain(String(target.pid));
    const events = JSON.parse((await httpGet(server.port, '/api/events?since=0')).body) as {
      events: { type: string; listener: { port: number } }[];
    };
    expect(events.events).toContainEqual(
      expect.objectContaining({ type: 'close', listener: expect.objectContaining({ port: holder.ports[0] }) }),
    );
  });

  it.skipIf(!haveNetns.ok || !isRoot)(
    "unprivileged, with another user's --netns-pid, never proxies a port number to the host's socket",
    async () => {
      // The same port number listens on the host and in the namespace.
      const host = createServer((_req, res) => res.end('the host app'));
      servers.push(host);
      await new Promise<void>((r) => host.listen(0, '127.0.0.1', () => r()));
      const port = (host.address() as AddressInfo).port;
      const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1', port }], { netns: true });
      const child = spawn(
        'setpriv',
        [
          '--reuid=65534',
          '--regid=65534',
          '--clear-groups',
          process.execPath,
          CLI,
          'serve',
          '--listen',
          '127.0.0.1:0',
          '--no-config',
          '--netns-pid',
          String(holder.pid),
        ],
        { stdio: ['ignore', 'ignore', 'pipe'], cwd: '/' },
      );
      pids.push(child.pid as number);
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const url = await waitFor(() => /serving (http:\S+)/.exec(stderr)?.[1], `serve to start (stderr: ${stderr})`);
      const servePort = Number(new URL(url).port);
      await waitFor(
        async () => (await httpGet(servePort, '/api/listeners')).body.includes(`"port":${port}`),
        'the namespace listener listed',
      );
      const reply = await httpGet(servePort, `/proxy/${port}/`);
      expect(reply.body).not.toContain('the host app');
      expect(reply.status).toBe(502);
      expect(reply.body).toMatch(/cannot compare/);
    },
  );
});

describe('serve --listen with a name', () => {
  it.skipIf(!haveNetns.ok || !isRoot)('checks the address a name resolves to: localhost mapped to 0.0.0.0 needs a token', () => {
    const script = [
      'ip link set lo up',
      'hosts=$(mktemp)',
      'echo "0.0.0.0 localhost" > "$hosts"',
      'mount --bind "$hosts" /etc/hosts',
      `exec "${process.execPath}" "${CLI}" serve --listen localhost:0 --no-config`,
    ].join(' && ');
    const r = spawnSync('unshare', ['--mount', '--net', 'sh', '-c', script], { encoding: 'utf8', timeout: 20_000 });
    expect(r.stderr.trim()).toMatch(/^portwatch: refusing to listen on 0\.0\.0\.0 \(localhost\) without a token/);
    expect(r.status).toBe(2);
  });

  it('a name that does not resolve is an invalid address, not a token problem', () => {
    const r = spawnSync(process.execPath, [CLI, 'serve', '--listen', 'no-such-host.invalid:0', '--no-config'], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.stderr.trim()).toMatch(/^portwatch: invalid --listen address 'no-such-host\.invalid': the name does not resolve/);
    expect(r.status).toBe(2);
  });
});
