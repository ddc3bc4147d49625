import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { call, callError, closeMcp, connectInMemory, connectStdio, textOf } from '../../helpers/mcp-client.js';
import { holdSockets, stopAll } from '../../helpers/processes.js';
import { startStubborn, stopStubborn } from '../../helpers/stubborn-server.js';

const servers: Server[] = [];
afterEach(async () => {
  await closeMcp();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  await stopStubborn();
  await stopAll();
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface Action {
  pid: number | null;
  outcome: string;
  signals: string[];
  reason: string | null;
}

describe('stop_port', () => {
  it('is listed as destructive, not read-only', async () => {
    const { client } = await connectInMemory();
    const tool = (await client.listTools()).tools.find((t) => t.name === 'stop_port');
    expect(tool?.annotations).toMatchObject({ destructiveHint: true, readOnlyHint: false });
    expect(Object.keys(tool?.inputSchema.properties ?? {}).sort()).toEqual(['dry_run', 'force', 'grace_ms', 'port', 'protocol', 'signal']);
  });

  it('stops the process on a port and says so (over stdio, as an agent calls it)', async () => {
    const holder = await holdSockets([{ proto: 'tcp', host: '::1' }]);
    const port = holder.ports[0] as number;
    const client = await connectStdio();
    const r = await client.callTool({ name: 'stop_port', arguments: { port } });
    expect(r.structuredContent).toMatchObject({ port, free: true, dry_run: false, still_listening: [] });
    expect((r.structuredContent as { actions: Action[] }).actions).toMatchObject([
      { pid: holder.pid, outcome: 'stopped', signals: ['SIGTERM'] },
    ]);
    expect(textOf(r)).toMatch(
      new RegExp(`^pid ${holder.pid} \\(python3\\) tcp \\[::1\\]:${port}: sent SIGTERM; let go after \\d+ ms\\ntcp port ${port} is free$`),
    );
  });

  it('SIGKILLs a server that ignores SIGTERM after grace_ms', async () => {
    const stubborn = await startStubborn('udp');
    const { client } = await connectInMemory();
    const r = await call(client, 'stop_port', { port: stubborn.port, protocol: 'UDP', grace_ms: '300' });
    expect(r).toMatchObject({ free: true, actions: [{ pid: stubborn.pid, outcome: 'killed', signals: ['SIGTERM', 'SIGKILL'] }] });
    expect(await stubborn.ended).toBe('SIGKILL');
  });

  it('dry_run signals nothing; signal takes names as people write them', async () => {
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
    const port = holder.ports[0] as number;
    const { client } = await connectInMemory();
    const r = await client.callTool({ name: 'stop_port', arguments: { port, dry_run: 'true', signal: 'hup' } });
    expect(r.structuredContent).toMatchObject({
      free: false,
      dry_run: true,
      actions: [{ pid: holder.pid, outcome: 'would-signal', signals: [] }],
    });
    expect(textOf(r)).toBe(`pid ${holder.pid} (python3) tcp 127.0.0.1:${port}: would be sent SIGHUP (dry run)`);
    expect(alive(holder.pid)).toBe(true);
    const hup = await call(client, 'stop_port', { port, signal: 1 });
    expect(hup).toMatchObject({ free: true, actions: [{ pid: holder.pid, outcome: 'stopped', signals: ['SIGHUP'] }] });
  });

  it('never signals the MCP server itself, even with force', async () => {
    const server = createServer();
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const { client } = await connectInMemory(); // this process is the server
    const r = await call(client, 'stop_port', { port, force: true, grace_ms: 0 });
    expect(r).toMatchObject({ free: false, actions: [{ pid: process.pid, outcome: 'refused', reason: 'it is this portwatch itself' }] });
    expect((r.still_listening as { port: number }[]).map((l) => l.port)).toEqual([port]);
    const name = readFileSync(`/proc/${process.pid}/comm`, 'utf8').trim();
    expect(r.message).toBe(
      `pid ${process.pid} (${name}) tcp 127.0.0.1:${port}: refused: it is this portwatch itself\ntcp port ${port} is still taken`,
    );
    expect(server.listening).toBe(true);
  });

  it('a port nothing listens on is free', async () => {
    const holder = await holdSockets([]);
    const { index, port } = await holder.open({ proto: 'tcp', host: '127.0.0.1' });
    await holder.close(index);
    const { client } = await connectInMemory();
    expect(await call(client, 'stop_port', { port })).toMatchObject({
      free: true,
      actions: [],
      message: `nothing listens on tcp port ${port}`,
    });
  });

  it.each([
    [{ port: 80, signal: 'FOO' }, /signal/],
    [{ port: 80, grace_ms: 600_000 }, /grace_ms/],
    [{ port: 80, grace: 100 }, /unknown argument 'grace' \(did you mean 'grace_ms'\?\)/],
    [{}, /port/],
  ])('refuses bad arguments %j', async (args, message) => {
    const { client } = await connectInMemory();
    expect(await callError(client, 'stop_port', args)).toMatch(message);
  });
});
