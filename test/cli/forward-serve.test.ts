/**
 * `portwatch forward --netns-pid PID --serve ADDR`: serve in the same process over the
 * target's listeners, with /api/forwards and the forward events on the event stream. A
 * namespace made with `unshare --net`; a port taken on the host shows up moved; closing a
 * port in the target removes its forward; the token rules are serve's.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { netnsConnectorUnavailable } from '../../src/forward/netns-connector.js';
import type { ForwardView } from '../../src/forward/events.js';
import { runCli, startCli, type LiveCli } from '../helpers/cli.js';
import { holdSockets, netnsSupport, stopAll, waitFor } from '../helpers/processes.js';
import { httpGet as fetchText } from '../helpers/sockets.js';
import { SseClient, closeAll, httpGet } from '../serve/helpers.js';

const ns = netnsSupport();
const why = !ns.ok ? ns.reason : process.getuid?.() !== 0 ? 'direct mode needs root' : netnsConnectorUnavailable();

const live: LiveCli[] = [];
const hostServers: Server[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  for (const c of live.splice(0)) if (c.child.exitCode === null) c.child.kill('SIGKILL');
  await closeAll();
  await stopAll();
  for (const s of hostServers.splice(0)) await new Promise<void>((r) => s.close(() => r()));
});

/** A port taken on the host (127.0.0.1), for the target to listen on too. */
async function takenHere(): Promise<number> {
  const s = createServer((c) => c.destroy());
  hostServers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return (s.address() as AddressInfo).port;
}

/** Starts `forward … --serve 127.0.0.1:0`; resolves with the CLI and serve's port. */
async function forwardServe(args: string[]): Promise<{ cli: LiveCli; port: number }> {
  const cli = startCli(['forward', ...args, '--serve', '127.0.0.1:0', '--no-config']);
  live.push(cli);
  const m = await waitFor(
    () => /portwatch: serving http:\/\/127\.0\.0\.1:(\d+)\//.exec(cli.stderr()),
    `serve's URL (stderr: ${cli.stderr()})`,
  );
  return { cli, port: Number(m[1]) };
}

async function forwards(port: number, headers: Record<string, string> = {}): Promise<ForwardView[]> {
  const r = await httpGet(port, '/api/forwards', { headers });
  expect(r.status).toBe(200);
  return JSON.parse(r.body) as ForwardView[];
}

describe('portwatch forward --serve: usage', () => {
  it.each([
    [['http://127.0.0.1:4040', '--serve'], /--serve goes with --netns-pid or --container/],
    [['--serve', 'http://127.0.0.1:4040'], /--serve goes with --netns-pid or --container/],
    [['--netns-pid', '1', '--serve', '0.0.0.0:0'], /refusing to listen on 0\.0\.0\.0 without a token/],
    [['--netns-pid', '1', '--serve', '[::1]:x'], /invalid --serve '\[::1\]:x'/],
    [['--netns-pid', '1', '--serve', '--token', 'a', '--token-file', '/x'], /--token and --token-file cannot be used together/],
    [['--netns-pid', '1', '--token', 'abc'], /go with a URL .* or with --serve/],
  ])('portwatch forward %j → exit 2 with one line', async (args, message) => {
    const r = await runCli(['forward', ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('portwatch serve', () => {
  it('has no /api/forwards (only forward --serve has forwards)', async () => {
    const cli = startCli(['serve', '--listen', '127.0.0.1:0', '--no-config']);
    live.push(cli);
    const m = await waitFor(() => /serving http:\/\/127\.0\.0\.1:(\d+)\//.exec(cli.stderr()), 'serve');
    const r = await httpGet(Number(m[1]), '/api/forwards');
    expect(r.status).toBe(404);
    expect(r.body).toContain('forward --serve');
  });
});

describe.skipIf(why !== null)('portwatch forward --netns-pid --serve', () => {
  it('lists the forwards, says which moved, and streams forward and unforward events', async () => {
    const taken = await takenHere();
    const holder = await holdSockets(
      [
        { proto: 'tcp', host: '127.0.0.1', serve: 'http' },
        { proto: 'tcp', host: '127.0.0.1', port: taken, serve: 'http' },
      ],
      { netns: true },
    );
    const [free] = holder.ports as [number];
    const { cli, port } = await forwardServe(['--netns-pid', String(holder.pid)]);
    const both = await waitFor(async () => {
      const list = await forwards(port);
      return list.length === 2 ? list : null;
    }, `two forwards (stderr: ${cli.stderr()})`);

    const same = both.find((f) => f.remote.port === free)!;
    expect(same).toMatchObject({ protocol: 'tcp', moved: false, movedReason: null, local: [{ address: '127.0.0.1', port: free }] });
    expect(same.listener?.port).toBe(free);
    expect(same.listener?.inode).toBeGreaterThan(0);
    expect(same.listenerKey).toBe(`${same.listener!.netns}|tcp|127.0.0.1|${free}|${same.listener!.inode}`);
    expect(Date.parse(same.since)).toBeGreaterThan(Date.now() - 60_000);
    const moved = both.find((f) => f.remote.port === taken)!;
    expect(moved.moved).toBe(true);
    expect(moved.movedReason).toBe(`${taken} is taken here`);
    expect(moved.local[0]!.port).not.toBe(taken);
    expect(await fetchText(`http://127.0.0.1:${moved.local[0]!.port}/`)).toBe(`hello from ${taken}`);

    // The probe through the forward finds HTTP (the target itself is out of serve's reach).
    await waitFor(async () => (await forwards(port)).every((f) => f.http === 'http'), 'http found through the forwards');

    // The same listeners as the target's own scan: /api/listeners is the target's.
    const listeners = JSON.parse((await httpGet(port, '/api/listeners')).body) as { port: number; netns: string }[];
    expect(listeners.map((l) => l.port).sort()).toEqual([free, taken].sort());

    const sse = new SseClient(port, '/api/events?snapshot=1');
    const first = await sse.until((c) => c.named('forwards')[0] as ForwardView[] | undefined, 'the forwards message');
    expect(first.map((f) => f.remote.port).sort()).toEqual([free, taken].sort());
    expect(sse.messages.map((m) => m.event).slice(0, 2)).toEqual(['snapshot', 'forwards']);

    await holder.close(0);
    const gone = await sse.until((c) => c.named('unforward')[0] as { remote: { port: number }; reason: string } | undefined, 'unforward');
    expect(gone).toMatchObject({ type: 'unforward', remote: { port: free }, reason: 'closed' });
    expect(sse.events().some((e) => e.type === 'close' && e.port === free)).toBe(true);
    expect((await forwards(port)).map((f) => f.remote.port)).toEqual([taken]);

    const later = await holder.open({ proto: 'tcp', host: '127.0.0.1', serve: 'http' });
    const added = await sse.until(
      (c) => (c.named('forward') as ForwardView[]).find((f) => f.remote.port === later.port),
      'a forward event for the new port',
    );
    expect(added).toMatchObject({ type: 'forward', moved: false, local: [{ port: later.port }] });
    // Forward events never carry an id: Last-Event-ID stays the PortEvents'.
    expect(sse.messages.filter((m) => m.event.startsWith('forward') || m.event === 'unforward').every((m) => m.id === undefined)).toBe(
      true,
    );

    cli.child.kill('SIGINT');
    expect((await cli.exited).code).toBe(0);
  });

  it('requires the token on /api/forwards and the event stream when one is given', async () => {
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }], { netns: true });
    const { cli, port } = await forwardServe(['--netns-pid', String(holder.pid), '--token', 'sekrit-token-42']);
    expect(cli.stderr()).toMatch(/\(token required: open \/\?token=… once\)/);
    expect((await httpGet(port, '/api/forwards')).status).toBe(401);
    expect((await httpGet(port, '/api/events?since=0')).status).toBe(401);
    const auth = { authorization: 'Bearer sekrit-token-42' };
    await waitFor(async () => (await forwards(port, auth)).length === 1, 'the forward, with the token');
    expect((await httpGet(port, '/api/forwards', { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
  });

  it('says why a port moved with --map, and follows a forwardPorts port from waiting to listening', async () => {
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }], { netns: true });
    const [mapped] = holder.ports as [number];
    const hostPort = await takenHere();
    await new Promise<void>((r) => hostServers.pop()!.close(() => r())); // a port free here, to map to
    const ahead = await takenHere(); // a number no one listens on in the target
    const dir = mkdtempSync(join(tmpdir(), 'portwatch-forward-serve-'));
    dirs.push(dir);
    const config = join(dir, 'devcontainer.json');
    writeFileSync(config, JSON.stringify({ forwardPorts: [ahead] }));
    const cli = startCli([
      'forward',
      '--netns-pid',
      String(holder.pid),
      '--map',
      `${mapped}:${hostPort}`,
      '--serve',
      '127.0.0.1:0',
      '--config',
      config,
    ]);
    live.push(cli);
    const port = Number((await waitFor(() => /serving http:\/\/127\.0\.0\.1:(\d+)\//.exec(cli.stderr()), `serve (${cli.stderr()})`))[1]);
    const both = await waitFor(async () => {
      const list = await forwards(port);
      return list.length === 2 ? list : null;
    }, `two forwards (stderr: ${cli.stderr()})`);
    expect(both.find((f) => f.remote.port === mapped)).toMatchObject({
      moved: true,
      exact: true,
      movedReason: `--map sends ${mapped} to ${hostPort}`,
      local: [{ port: hostPort }],
    });
    // forwardPorts: forwarded before it listens (the host port here is taken, so it moved too).
    expect(both.find((f) => f.remote.port === ahead)).toMatchObject({ waiting: true, listener: null, listenerKey: null, moved: true });

    const sse = new SseClient(port, '/api/events?snapshot=1');
    await sse.until((c) => c.named('forwards').length === 1, 'the stream');
    await holder.open({ proto: 'tcp', host: '127.0.0.1', port: ahead });
    const update = await sse.until(
      (c) => (c.named('forward-update') as ForwardView[]).find((f) => f.remote.port === ahead && !f.waiting),
      'the forwardPorts port listening',
    );
    expect(update.listener?.port).toBe(ahead);
    expect((await forwards(port)).find((f) => f.remote.port === ahead)).toMatchObject({ waiting: false, listener: { port: ahead } });
  });
});
