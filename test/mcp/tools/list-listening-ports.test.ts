import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { COMMAND_CUT } from '../../../src/mcp/compact.js';
import { call, closeMcp, connectInMemory, textOf, type ListenerJson } from '../../helpers/mcp-client.js';

const LISTEN_PY = fileURLToPath(new URL('../../helpers/listen.py', import.meta.url));

const started: ChildProcess[] = [];
afterEach(async () => {
  await closeMcp();
  for (const p of started.splice(0)) {
    if (p.exitCode !== null || p.signalCode !== null) continue;
    const exited = new Promise((resolve) => p.once('exit', resolve));
    p.kill('SIGTERM');
    await exited;
  }
});

/** A python3 process with a command line of almost 4 KiB (as a dev server's can be), holding `count` TCP listeners. */
async function longCommandHolder(count: number): Promise<{ pid: number; ports: number[]; command: string }> {
  const specs = JSON.stringify(Array.from({ length: count }, () => ({ proto: 'tcp', host: '127.0.0.1' })));
  const padding = `--long=${'x'.repeat(3500)}`;
  const py = spawn('python3', [LISTEN_PY, specs, padding], { stdio: ['pipe', 'pipe', 'inherit'] });
  started.push(py);
  const line = await new Promise<string>((resolve) => createInterface({ input: py.stdout as NodeJS.ReadableStream }).once('line', resolve));
  const hello = JSON.parse(line) as { pid: number; ports: number[] };
  // As the kernel keeps it (python3 may be a shim that runs another python3).
  const command = readFileSync(`/proc/${hello.pid}/cmdline`, 'utf8').replace(/\0+$/, '').replaceAll('\0', ' ');
  expect(command).toContain(padding);
  return { ...hello, command };
}

describe('list_listening_ports: results sized for a model', () => {
  it('cuts command lines at 200 characters, says so, and gives them whole on request', async () => {
    const holder = await longCommandHolder(3);
    const { client } = await connectInMemory();
    const r = await client.callTool({ name: 'list_listening_ports', arguments: { process: 'long=x' } });
    const listed = r.structuredContent as { listeners: ListenerJson[]; count: number; more: boolean };
    const mine = listed.listeners.filter((l) => l.process?.pid === holder.pid);
    expect(mine.map((l) => l.port).sort()).toEqual([...holder.ports].sort());
    for (const l of mine) {
      expect(l.process?.command).toBe(`${holder.command.slice(0, COMMAND_CUT)}…`);
      expect(l.process?.command_length).toBe(holder.command.length);
    }
    // The text part is a table, not the JSON again; each 4 KiB command is in it once, cut.
    const text = textOf(r);
    expect(text).toMatch(/^\d+ listener\(s\):\nPROTO +ADDRESS +PID +PROCESS +LABEL +COMMAND\n/);
    expect(text).not.toContain('"listeners"');
    for (const port of holder.ports)
      expect(text).toMatch(new RegExp(`^tcp +127\\.0\\.0\\.1:${port} +${holder.pid} +python3 +- +\\S*python3 `, 'm'));
    expect(text.length).toBeLessThan(listed.count * 400);
    expect(JSON.stringify(r).length).toBeLessThan(listed.count * 1500); // was ~2 × 4 KiB per listener, and everything twice

    const full = await call(client, 'list_listening_ports', { process: 'long=x', full_command: true });
    for (const l of (full.listeners as ListenerJson[]).filter((x) => x.process?.pid === holder.pid)) {
      expect(l.process?.command).toBe(holder.command);
      expect(l.process?.command_length).toBeUndefined();
    }
  });

  it('returns at most `limit` listeners and says how many more match', async () => {
    const holder = await longCommandHolder(3);
    const { client } = await connectInMemory();
    const [low, high] = [Math.min(...holder.ports), Math.max(...holder.ports)];
    const all = await call(client, 'list_listening_ports', { min_port: low, max_port: high, process: 'long=x' });
    expect(all).toMatchObject({ count: 3, more: false });
    const r = await client.callTool({
      name: 'list_listening_ports',
      arguments: { min_port: low, max_port: high, process: 'long=x', limit: 2 },
    });
    expect(r.structuredContent).toMatchObject({ count: 3, more: true });
    expect((r.structuredContent as { listeners: ListenerJson[] }).listeners.map((l) => l.port)).toEqual(
      [...holder.ports].sort((a, b) => a - b).slice(0, 2),
    );
    expect(textOf(r)).toMatch(
      /^3 listener\(s\); showing the first 2: narrow with port, min_port, max_port, protocol or process, or raise limit:\n/,
    );
  });
});
