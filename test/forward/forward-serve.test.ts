/**
 * Through serve: `portwatch serve` runs inside a network namespace the test made, reached
 * from the host over a veth pair; the forward on the host learns the listeners from its
 * event stream and carries connections through its tunnel. The token is required; the
 * tunnel refuses ports that do not listen, serve's own port, and pages; a serve restart
 * brings the forwards back.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { ForwardErrorEvent, ForwardEvent, UnforwardEvent } from '../../src/forward/events.js';
import { forwardThroughServeUrl, type ServeForward } from '../../src/forward/forward-serve.js';
import { spliceRelayUnavailable } from '../../src/forward/splice-relay.js';
import { createRules } from '../../src/rules/rules.js';
import { CLI } from '../helpers/cli.js';
import { holdSockets, stopAll, waitFor } from '../helpers/processes.js';
import { connectAndCollect, httpGet, portIsFree } from '../helpers/sockets.js';
import { createVethNamespace, vethSupport, type VethNamespace } from '../helpers/veth-namespace.js';

const why = vethSupport();
const TOKEN = 'tunnel-test-token-0123456789';
const SERVE_PORT = 4040;

describe.skipIf(why !== null)('forward URL (through serve)', () => {
  let ns: VethNamespace;
  let serve: ChildProcess | null = null;
  /** serve's stderr (it runs with --log-level debug). */
  let serveErr = '';
  const sessions: ServeForward[] = [];

  const startServe = async (): Promise<void> => {
    serve = spawn(
      ns.exec[0]!,
      [
        ...ns.exec.slice(1),
        process.execPath,
        CLI,
        'serve',
        '--listen',
        `${ns.innerAddress}:${SERVE_PORT}`,
        '--token',
        TOKEN,
        '--log-level',
        'debug',
      ],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    serveErr = '';
    serve.stderr?.on('data', (d: Buffer) => (serveErr += d.toString()));
    await waitFor(() => /serving|http:\/\//.test(serveErr), `serve to start (stderr: ${serveErr.slice(-2000)})`, 15_000);
  };
  const stopServe = async (): Promise<void> => {
    const s = serve;
    serve = null;
    if (s === null || s.exitCode !== null) return;
    const exited = new Promise((resolve) => s.once('exit', resolve));
    process.kill(s.pid!, 'SIGTERM');
    await exited;
  };
  const base = (): URL => new URL(`http://${ns.innerAddress}:${SERVE_PORT}`);
  const forward = (
    token: string | null,
  ): { f: ServeForward; forwards: ForwardEvent[]; unforwards: UnforwardEvent[]; errors: ForwardErrorEvent[] } => {
    const f = forwardThroughServeUrl({
      base: base(),
      token,
      rules: createRules(),
      ports: null,
      map: new Map(),
      bind: null,
      maxBackoffMs: 500,
    });
    sessions.push(f);
    const r = { f, forwards: [] as ForwardEvent[], unforwards: [] as UnforwardEvent[], errors: [] as ForwardErrorEvent[] };
    f.forwarder.on('forward', (e) => r.forwards.push(e));
    f.forwarder.on('unforward', (e) => r.unforwards.push(e));
    f.forwarder.on('error', (e) => r.errors.push(e));
    return r;
  };

  beforeAll(async () => {
    ns = createVethNamespace();
    await startServe();
  });
  let cleanupEnv = (): void => {};
  afterEach(() => {
    for (const s of sessions.splice(0)) s.close();
    cleanupEnv();
    cleanupEnv = () => {};
  });
  afterAll(async () => {
    await stopServe();
    await stopAll();
    ns?.destroy();
  });

  it.each([
    ['raw', undefined],
    ['WebSocket', 'ws'],
  ] as const)('forwards the namespace’s loopback servers to the same ports here, byte-exact (%s tunnel)', async (_name, env) => {
    const before = process.env.PORTWATCH_TUNNEL;
    if (env === undefined) delete process.env.PORTWATCH_TUNNEL;
    else process.env.PORTWATCH_TUNNEL = env;
    cleanupEnv = () => {
      if (before === undefined) delete process.env.PORTWATCH_TUNNEL;
      else process.env.PORTWATCH_TUNNEL = before;
    };
    const heapSwitches = (serveErr.match(/heap: moving bytes/g) ?? []).length;
    const holder = await holdSockets(
      [
        { proto: 'tcp', host: '127.0.0.1', serve: 'echo' },
        { proto: 'tcp', host: '::1', serve: 'http' },
      ],
      { netnsName: ns.name },
    );
    const [echoPort, httpPort] = holder.ports as [number, number];
    const r = forward(TOKEN);
    await waitFor(
      () => r.forwards.some((e) => e.remote.port === echoPort) && r.forwards.some((e) => e.remote.port === httpPort),
      'both forwards',
    );
    const payload = randomBytes(1024 * 1024);
    const back = await connectAndCollect({ host: '127.0.0.1', port: echoPort }, payload);
    expect(back.equals(payload)).toBe(true);
    if (env === 'ws') {
      // serve's heap was roomy while the tunnel moved bytes, and compact again once it closed (heap-flags.ts).
      await waitFor(() => /heap: moving bytes[\s\S]*heap: watching/.test(serveErr), 'serve to switch its heap mode and back');
    } else if (spliceRelayUnavailable() === null) {
      // Raw and spliced: no byte went through serve's JavaScript, so its heap never switched.
      expect((serveErr.match(/heap: moving bytes/g) ?? []).length).toBe(heapSwitches);
    }
    expect(await httpGet(`http://[::1]:${httpPort}/`)).toBe(`hello from ${httpPort}`);
    // serve's own port is never forwarded: it is portwatch's own listener there.
    expect(r.forwards.some((e) => e.remote.port === SERVE_PORT)).toBe(false);
    await holder.close(0);
    await waitFor(() => r.unforwards.some((e) => e.remote.port === echoPort), 'the unforward');
    expect(await portIsFree(echoPort, '127.0.0.1')).toBe(true);
    await holder.stop();
  });

  it('needs the token: without it the forward ends with a clear reason', async () => {
    const r = forward(null);
    expect(await r.f.ended).toMatch(/refused us \(401\): check --token/);
  });

  it('the tunnel refuses a port that does not listen, serve’s own port, and pages', async () => {
    const holder = await holdSockets([], { netnsName: ns.name });
    const refusal = (port: number, headers: Record<string, string> = {}): Promise<number> =>
      new Promise((resolve, reject) => {
        const ws = new WebSocket(`ws://${ns.innerAddress}:${SERVE_PORT}/api/tunnel/${port}`, {
          headers: { Authorization: `Bearer ${TOKEN}`, ...headers },
        });
        ws.once('unexpected-response', (_req, res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        ws.once('open', () => {
          ws.terminate();
          reject(new Error(`the tunnel to ${port} opened`));
        });
        ws.once('error', reject);
      });
    expect(await refusal(39_999)).toBe(502);
    expect(await refusal(SERVE_PORT)).toBe(403);
    const { port } = await holder.open({ proto: 'tcp', host: '127.0.0.1', serve: 'echo' });
    await waitFor(async () => (await refusal(port, { Origin: 'http://evil.example' }).catch(() => 0)) === 403, 'a page refused');
    await holder.stop();
  });

  it('restores the forwards after serve restarts', async () => {
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1', serve: 'http' }], { netnsName: ns.name });
    const [port] = holder.ports as [number];
    const r = forward(TOKEN);
    await waitFor(() => r.forwards.some((e) => e.remote.port === port), 'the forward');
    await stopServe();
    const { port: later } = await holder.open({ proto: 'tcp', host: '127.0.0.1', serve: 'http' });
    await startServe();
    await waitFor(() => r.forwards.some((e) => e.remote.port === later), 'the forward of a port opened while serve was down', 15_000);
    expect(await httpGet(`http://127.0.0.1:${port}/`).catch((e) => `failed: ${e} ${JSON.stringify(r.errors)}`)).toBe(`hello from ${port}`);
    expect(await httpGet(`http://127.0.0.1:${later}/`).catch((e) => `failed: ${e} ${JSON.stringify(r.errors)}`)).toBe(
      `hello from ${later}`,
    );
    await holder.stop();
  });
});
