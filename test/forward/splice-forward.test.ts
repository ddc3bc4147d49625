/**
 * Direct mode with the splice relay, end to end: connections to a server in a network
 * namespace the test made are spliced (and byte-exact), go on for the grace period after
 * their port closed in the target and are cut after it, are cut by Ctrl-C with the command
 * exiting 0; PORTWATCH_FORWARD_RELAY=js still forwards with the JavaScript relay.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { forwardNamespace, type NamespaceForward } from '../../src/forward/forward-namespace.js';
import { netnsConnectorUnavailable } from '../../src/forward/netns-connector.js';
import { runningSpliceRelays, spliceRelayUnavailable } from '../../src/forward/splice-relay.js';
import type { ForwardEvent, UnforwardEvent } from '../../src/forward/events.js';
import { createRules } from '../../src/rules/rules.js';
import { startCli, type LiveCli } from '../helpers/cli.js';
import { holdSockets, netnsSupport, stopAll, waitFor } from '../helpers/processes.js';
import { connectAndCollect } from '../helpers/sockets.js';
import { howItEnds } from './splice-pairs.js';

const ns = netnsSupport();
const why = !ns.ok
  ? ns.reason
  : process.getuid?.() !== 0
    ? 'direct mode needs root'
    : (netnsConnectorUnavailable() ?? spliceRelayUnavailable());

const forwards: NamespaceForward[] = [];
const live: LiveCli[] = [];
const sockets: net.Socket[] = [];
afterEach(async () => {
  delete process.env.PORTWATCH_FORWARD_RELAY;
  for (const s of sockets.splice(0)) s.destroy();
  for (const f of forwards.splice(0)) await f.close();
  for (const c of live.splice(0)) if (c.child.exitCode === null) process.kill(c.child.pid!, 'SIGKILL');
  await stopAll();
});

async function forwardEcho(graceMs = 30_000): Promise<{ port: number; unforwards: UnforwardEvent[]; close: (i: number) => Promise<void> }> {
  const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1', serve: 'echo' }], { netns: true });
  const f = forwardNamespace({ netnsPid: holder.pid, rules: createRules(), ports: null, map: new Map(), bind: null, graceMs });
  forwards.push(f);
  const started: ForwardEvent[] = [];
  const unforwards: UnforwardEvent[] = [];
  f.forwarder.on('forward', (e) => started.push(e));
  f.forwarder.on('unforward', (e) => unforwards.push(e));
  await waitFor(() => started.length === 1, 'the forward');
  return { port: started[0]!.local[0]!.port, unforwards, close: (i) => holder.close(i) };
}

/** A connection through the forward that answered one echo. */
async function echoConnection(port: number): Promise<net.Socket> {
  const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  sockets.push(s);
  s.on('error', () => undefined);
  const back = new Promise<Buffer>((r) => s.once('data', r));
  s.write('ping');
  expect((await back).toString()).toBe('ping');
  return s;
}

describe.skipIf(why !== null)('forward --netns-pid with the splice relay', () => {
  it('splices each connection, byte-exact with half-close, and lets go of it at the end', async () => {
    const { port } = await forwardEcho();
    const held = await echoConnection(port);
    expect(runningSpliceRelays()).toBe(1);
    const payload = randomBytes(1024 * 1024);
    const back = await connectAndCollect({ host: '127.0.0.1', port }, payload);
    expect(back.equals(payload)).toBe(true);
    held.end();
    await waitFor(() => runningSpliceRelays() === 0, 'both relays ended');
  });

  it('lets a connection go on for the grace period after its port closed in the target, then cuts it', async () => {
    const { port, unforwards, close } = await forwardEcho(600);
    const held = await echoConnection(port);
    const ends = howItEnds(held);
    await close(0);
    await waitFor(() => unforwards.length === 1, 'the unforward');
    const back = new Promise<Buffer>((r) => held.once('data', r));
    held.write('during grace');
    expect((await back).toString()).toBe('during grace');
    expect(await ends).toBe('end');
    await waitFor(() => runningSpliceRelays() === 0, 'the relay reported cut');
  });

  it('Ctrl-C cuts spliced connections and the command exits 0', async () => {
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1', serve: 'echo' }], { netns: true });
    const [port] = holder.ports as [number];
    const cli = startCli(['forward', '--netns-pid', String(holder.pid), '--json', '--no-config']);
    live.push(cli);
    await waitFor(() => cli.stdout().includes('"type":"forward"'), `a forward event (stderr: ${cli.stderr()})`);
    const held = await echoConnection(port);
    const ends = howItEnds(held);
    process.kill(cli.child.pid!, 'SIGINT');
    expect((await cli.exited).code).toBe(0);
    expect(await ends).toBe('end');
  });

  it('PORTWATCH_FORWARD_RELAY=js forwards with the JavaScript relay instead', async () => {
    process.env.PORTWATCH_FORWARD_RELAY = 'js';
    const { port } = await forwardEcho();
    await echoConnection(port);
    expect(runningSpliceRelays()).toBe(0);
    const payload = randomBytes(1024 * 1024);
    expect((await connectAndCollect({ host: '127.0.0.1', port }, payload)).equals(payload)).toBe(true);
  });
});
