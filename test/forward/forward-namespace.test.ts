/**
 * Direct mode end to end: servers in a network namespace the test made (on its own
 * 127.0.0.1 and ::1, unreachable from the host), forwarded by the library to the host's
 * loopback on the same port, reached byte-exact; a port taken here moves; requireLocalPort
 * fails cleanly; close in the target closes the host port; reopen brings it back.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { forwardNamespace, type NamespaceForward } from '../../src/forward/forward-namespace.js';
import { netnsConnectorUnavailable } from '../../src/forward/netns-connector.js';
import type { ForwardErrorEvent, ForwardEvent, UnforwardEvent } from '../../src/forward/events.js';
import { createRules } from '../../src/rules/rules.js';
import { parseConfigText } from '../../src/rules/config.js';
import { holdSockets, netnsSupport, stopAll, waitFor } from '../helpers/processes.js';
import { connectAndCollect, httpGet, portIsFree } from '../helpers/sockets.js';

const ns = netnsSupport();
const why = !ns.ok ? ns.reason : process.getuid?.() !== 0 ? 'direct mode needs root' : netnsConnectorUnavailable();
if (why !== null && process.env.PORTWATCH_REQUIRE_NATIVE === '1') throw new Error(`forward tests cannot run: ${why}`);

interface Recorder {
  forwards: ForwardEvent[];
  unforwards: UnforwardEvent[];
  errors: ForwardErrorEvent[];
}

function record(f: NamespaceForward): Recorder {
  const r: Recorder = { forwards: [], unforwards: [], errors: [] };
  f.forwarder.on('forward', (e) => r.forwards.push(e));
  f.forwarder.on('unforward', (e) => r.unforwards.push(e));
  f.forwarder.on('error', (e) => r.errors.push(e));
  return r;
}

const forwards: NamespaceForward[] = [];
const hostServers: net.Server[] = [];
afterEach(async () => {
  for (const f of forwards.splice(0)) f.close();
  for (const s of hostServers.splice(0)) s.close();
  await stopAll();
});

function start(
  netnsPid: number,
  rulesText?: string,
  extra: Partial<Parameters<typeof forwardNamespace>[0]> = {},
): { f: NamespaceForward; r: Recorder } {
  const rules = rulesText === undefined ? createRules() : createRules(parseConfigText(rulesText, 'devcontainer.json'), 'devcontainer.json');
  const f = forwardNamespace({
    netnsPid,
    rules,
    ports: null,
    map: new Map(),
    bind: null,
    pinned: rules.forwardPorts.map((p) => p.port),
    ...extra,
  });
  forwards.push(f);
  return { f, r: record(f) };
}

describe.skipIf(why !== null)('forward --netns-pid (direct mode)', () => {
  it('reaches servers on the namespace’s own 127.0.0.1 and ::1 on the same port, byte-exact both ways with half-close', async () => {
    const holder = await holdSockets(
      [
        { proto: 'tcp', host: '127.0.0.1', serve: 'echo' },
        { proto: 'tcp', host: '::1', serve: 'http' },
      ],
      { netns: true },
    );
    const [echoPort, httpPort] = holder.ports as [number, number];
    const { r } = start(holder.pid);
    await waitFor(() => r.forwards.length === 2, 'two forwards');
    const echo = r.forwards.find((e) => e.remote.port === echoPort)!;
    expect(echo.local).toEqual([{ address: '127.0.0.1', port: echoPort }]);
    expect(echo.moved).toBe(false);
    expect(echo.listener?.address).toBe('127.0.0.1');
    const web = r.forwards.find((e) => e.remote.port === httpPort)!;
    // The target listens on ::1 only; the host side offers both loopbacks on the same port.
    expect(web.local.map((l) => l.address).sort()).toEqual(['127.0.0.1', '::1']);

    const payload = randomBytes(1024 * 1024);
    const back = await connectAndCollect({ host: '127.0.0.1', port: echoPort }, payload);
    expect(back.equals(payload)).toBe(true);
    expect(await httpGet(`http://127.0.0.1:${httpPort}/`)).toBe(`hello from ${httpPort}`);
    expect(await httpGet(`http://[::1]:${httpPort}/`)).toBe(`hello from ${httpPort}`);
    expect(r.errors).toEqual([]);
  });

  it('takes the next port when the same one is taken here, and says so', async () => {
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1', serve: 'http' }], { netns: true });
    const [port] = holder.ports as [number];
    const blocker = net.createServer().listen(port, '127.0.0.1');
    hostServers.push(blocker);
    await new Promise((resolve) => blocker.once('listening', resolve));
    const { r } = start(holder.pid);
    await waitFor(() => r.forwards.length === 1, 'a forward');
    const [event] = r.forwards as [ForwardEvent];
    expect(event.moved).toBe(true);
    expect(event.local[0]!.port).not.toBe(port);
    expect(await httpGet(`http://127.0.0.1:${event.local[0]!.port}/`)).toBe(`hello from ${port}`);
  });

  it('requireLocalPort: a taken port fails that forward with a clear error, the others go on', async () => {
    const holder = await holdSockets(
      [
        { proto: 'tcp', host: '127.0.0.1', serve: 'http' },
        { proto: 'tcp', host: '127.0.0.1', serve: 'http' },
      ],
      { netns: true },
    );
    const [strict, other] = holder.ports as [number, number];
    const blocker = net.createServer().listen(strict, '127.0.0.1');
    hostServers.push(blocker);
    await new Promise((resolve) => blocker.once('listening', resolve));
    const { r } = start(holder.pid, JSON.stringify({ portsAttributes: { [strict]: { requireLocalPort: true } } }));
    await waitFor(() => r.errors.length === 1 && r.forwards.length === 1, 'one error and one forward');
    expect(r.errors[0]!.port).toBe(strict);
    expect(r.errors[0]!.message).toContain(`host port ${strict} is taken`);
    expect(r.forwards[0]!.remote.port).toBe(other);
    expect(await httpGet(`http://127.0.0.1:${other}/`)).toBe(`hello from ${other}`);
  });

  it('adds ::1 when the target starts listening on IPv6 after the forward began, and announces it again', async () => {
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1', serve: 'http' }], { netns: true });
    const [port] = holder.ports as [number];
    const { r } = start(holder.pid);
    await waitFor(() => r.forwards.length === 1, 'a forward');
    expect(r.forwards[0]!.local).toEqual([{ address: '127.0.0.1', port }]);
    await holder.open({ proto: 'tcp', host: '::1', port, serve: 'http' });
    await waitFor(() => r.forwards.length === 2, 'the forward announced again');
    expect(r.forwards[1]!.remote.port).toBe(port);
    expect(r.forwards[1]!.local.map((l) => l.address).sort()).toEqual(['127.0.0.1', '::1']);
    expect(await httpGet(`http://[::1]:${port}/`)).toBe(`hello from ${port}`);
    expect(r.unforwards).toEqual([]);
  });

  it('closes the host port when the target closes, and forwards again when it reopens', async () => {
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1', serve: 'http' }], { netns: true });
    const [port] = holder.ports as [number];
    const { r } = start(holder.pid);
    await waitFor(() => r.forwards.length === 1, 'a forward');
    await holder.close(0);
    await waitFor(() => r.unforwards.length === 1, 'the unforward');
    expect(r.unforwards[0]!.reason).toBe('closed');
    expect(await portIsFree(port, '127.0.0.1')).toBe(true);
    await holder.open({ proto: 'tcp', host: '127.0.0.1', port, serve: 'http' });
    await waitFor(() => r.forwards.length === 2, 'the forward back');
    expect(await httpGet(`http://127.0.0.1:${port}/`)).toBe(`hello from ${port}`);
  });

  it('forwardPorts: a port forwarded before it listens; a connection waits for it', async () => {
    const holder = await holdSockets([], { netns: true });
    const wanted = 20_000 + Math.floor(Math.random() * 20_000);
    const { r } = start(holder.pid, JSON.stringify({ forwardPorts: [wanted] }));
    await waitFor(() => r.forwards.length === 1, 'the pinned forward');
    expect(r.forwards[0]!.waiting).toBe(true);
    const answer = httpGet(`http://127.0.0.1:${wanted}/`);
    await holder.open({ proto: 'tcp', host: '127.0.0.1', port: wanted, serve: 'http' });
    expect(await answer).toBe(`hello from ${wanted}`);
  });

  it('ends with target-gone when the target process exits, and frees every host port', async () => {
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1', serve: 'http' }], { netns: true });
    const [port] = holder.ports as [number];
    const { f, r } = start(holder.pid);
    await waitFor(() => r.forwards.length === 1, 'a forward');
    await holder.stop();
    expect(await f.ended).toBe('target-gone');
    expect(await portIsFree(port, '127.0.0.1')).toBe(true);
  });
});
