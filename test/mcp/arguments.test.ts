import { afterEach, describe, expect, it } from 'vitest';
import { likelyMeant, unknownArgumentsMessage } from '../../src/mcp/arguments.js';
import { call, callError, closeMcp, connectInMemory, type ListenerJson } from '../helpers/mcp-client.js';
import { holdSockets, stopAll } from '../helpers/processes.js';

afterEach(async () => {
  await closeMcp();
  await stopAll();
});

describe('likelyMeant', () => {
  const wait = ['port', 'timeout_ms', 'protocol'];
  it('finds the name with a unit or plural added or dropped, another spelling, or a typo', () => {
    expect(likelyMeant('timeout', wait)).toBe('timeout_ms');
    expect(likelyMeant('timeoutMs', wait)).toBe('timeout_ms');
    expect(likelyMeant('TIMEOUT-MS', wait)).toBe('timeout_ms');
    expect(likelyMeant('ports', wait)).toBe('port');
    expect(likelyMeant('protocl', wait)).toBe('protocol');
    expect(likelyMeant('proto', wait)).toBe('protocol');
    expect(likelyMeant('wait', ['since', 'cursor', 'wait_ms', 'limit', 'full_command'])).toBe('wait_ms');
  });

  it('suggests nothing rather than something far off', () => {
    expect(likelyMeant('colour', wait)).toBeNull();
    expect(likelyMeant('p', wait)).toBeNull();
    expect(likelyMeant('', wait)).toBeNull();
  });

  it('says every unknown name, what each likely meant, and what the tool takes', () => {
    expect(unknownArgumentsMessage('wait_for_port', ['timeout', 'colour'], wait)).toBe(
      "unknown arguments 'timeout' (did you mean 'timeout_ms'?), 'colour'; wait_for_port takes: port, timeout_ms, protocol",
    );
  });
});

describe('tool arguments through the SDK client', () => {
  it('publishes every name each tool takes, closed, with exact types although strings are taken too', async () => {
    const { client } = await connectInMemory();
    const { tools } = await client.listTools();
    const names = Object.fromEntries(tools.map((t) => [t.name, Object.keys(t.inputSchema.properties ?? {})]));
    expect(names).toEqual({
      list_listening_ports: ['protocol', 'port', 'min_port', 'max_port', 'process', 'include_ignored', 'full_command', 'limit'],
      wait_for_port: ['port', 'timeout_ms', 'protocol'],
      get_port_events: ['since', 'cursor', 'wait_ms', 'limit', 'full_command'],
      who_owns_port: ['port', 'protocol'],
      stop_port: ['port', 'protocol', 'signal', 'grace_ms', 'dry_run', 'force'],
    });
    for (const t of tools) expect(t.inputSchema, t.name).toMatchObject({ type: 'object', additionalProperties: false });
    const wait = tools.find((t) => t.name === 'wait_for_port');
    expect(wait?.inputSchema.properties?.port).toMatchObject({ type: 'integer', minimum: 1, maximum: 65535 });
    expect(wait?.inputSchema.properties?.protocol).toMatchObject({ type: 'string', enum: ['tcp', 'udp', 'any'], default: 'tcp' });
    expect(wait?.inputSchema.required).toEqual(['port']);
  });

  it('refuses an unknown name at once, naming the intended one and the accepted ones', async () => {
    const { client } = await connectInMemory();
    const started = Date.now();
    const text = await callError(client, 'wait_for_port', { port: 9, timeout: 500 });
    expect(Date.now() - started).toBeLessThan(5_000); // not the 30 s default that `timeout` would silently have become
    expect(text).toContain("unknown argument 'timeout' (did you mean 'timeout_ms'?); wait_for_port takes: port, timeout_ms, protocol");

    const list = await callError(client, 'list_listening_ports', { ports: [6380, 8080] });
    expect(list).toContain("unknown argument 'ports' (did you mean 'port'?); list_listening_ports takes: protocol, port, min_port");
  });

  it('get_port_events takes back its own `cursor` under that name, as `since`', async () => {
    const holder = await holdSockets([]);
    const { client } = await connectInMemory();
    const first = await call(client, 'get_port_events', {});
    const { port } = await holder.open({ proto: 'tcp', host: '127.0.0.1' });
    let cursor = first.cursor as string;
    let seen = false;
    for (let i = 0; i < 50 && !seen; i++) {
      const next = await call(client, 'get_port_events', { cursor, wait_ms: 10_000 });
      expect(next.reset).toBe(false);
      seen = (next.events as { listener: ListenerJson }[]).some((e) => e.listener.port === port);
      cursor = next.cursor as string;
    }
    expect(seen).toBe(true);
    // Read again from the latest cursor under either name: nothing is replayed.
    for (const args of [{ cursor }, { since: cursor }, { since: cursor, cursor }]) {
      const again = await call(client, 'get_port_events', args);
      expect((again.events as { listener: ListenerJson }[]).some((e) => e.listener.port === port)).toBe(false);
    }
    const both = await callError(client, 'get_port_events', { since: first.cursor, cursor });
    expect(both).toMatch(/since '.*' and cursor '.*' differ/);
  });

  it('takes unambiguous values in another form: "8080", "TCP", "true"', async () => {
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
    const port = holder.ports[0] as number;
    const { client } = await connectInMemory();
    const waited = await call(client, 'wait_for_port', { port: String(port), protocol: 'TCP', timeout_ms: '10000' });
    expect(waited).toMatchObject({ status: 'listening', port });
    const listed = await call(client, 'list_listening_ports', { port: ` ${port} `, protocol: ' Tcp', include_ignored: 'TRUE', limit: '5' });
    expect((listed.listeners as ListenerJson[]).map((l) => [l.port, l.process?.pid])).toEqual([[port, holder.pid]]);
    const owner = await call(client, 'who_owns_port', { port: String(port), protocol: 'tcp' });
    expect(owner).toMatchObject({ port, found: true });

    // Still refused: what could mean more than one thing.
    for (const bad of ['80a', '8080.5', '', 'http', '0x50'])
      expect(await callError(client, 'who_owns_port', { port: bad }), bad).toMatch(/Invalid arguments for tool who_owns_port/);
    expect(await callError(client, 'list_listening_ports', { protocol: 'sctp' })).toMatch(/protocol/);
    expect(await callError(client, 'list_listening_ports', { include_ignored: 'yes' })).toMatch(/include_ignored/);
  });
});
