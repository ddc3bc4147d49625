import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_LINE_BYTES } from '../../src/mcp/stdio-transport.js';
import { CLI } from '../helpers/cli.js';
import { call, closeMcp, connectStdio } from '../helpers/mcp-client.js';

const started: ChildProcess[] = [];
afterEach(async () => {
  await closeMcp();
  for (const p of started.splice(0)) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
});

describe('portwatch mcp: a message over 10 MiB', () => {
  it('is answered with a JSON-RPC error for its request, and the server goes on serving', async () => {
    const client = await connectStdio();
    const huge = 'a'.repeat(MAX_LINE_BYTES + 512 * 1024);
    const failed = await client
      .callTool({ name: 'list_listening_ports', arguments: { process: huge } }, undefined, { timeout: 20_000 })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(failed).toBeInstanceOf(McpError);
    expect((failed as McpError).code).toBe(ErrorCode.InvalidRequest);
    expect((failed as McpError).message).toMatch(/message of \d+ bytes is over the limit of 10485760 bytes and was dropped/);
    const after = await call(client, 'list_listening_ports', { limit: 1 });
    expect(after.count).toBeTypeOf('number');
  });

  it('without a readable id: an error without id, a line on stderr, the next request answered, exit 0 at the end', async () => {
    const server = spawn(process.execPath, [CLI, 'mcp'], { stdio: ['pipe', 'pipe', 'pipe'] });
    started.push(server);
    let err = '';
    server.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const answers: Record<string, unknown>[] = [];
    let wake = (): void => {};
    createInterface({ input: server.stdout }).on('line', (l) => {
      answers.push(JSON.parse(l) as Record<string, unknown>);
      wake();
    });
    const answered = (n: number): Promise<void> =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${answers.length} of ${n} answers after 20 s: ${err}`)), 20_000);
        wake = () => {
          if (answers.length < n) return;
          clearTimeout(timer);
          resolve();
        };
        wake();
      });
    const init = {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
    };
    server.stdin.write(`${JSON.stringify(init)}\n`);
    await answered(1);
    // A notification-shaped message: no id at either end to answer to.
    const line = `{"jsonrpc":"2.0","method":"notifications/x","params":{"p":"${'b'.repeat(MAX_LINE_BYTES)}"}}`;
    server.stdin.write(`${line}\n`);
    server.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' })}\n`);
    await answered(3);
    expect(answers[1]).toEqual({
      jsonrpc: '2.0',
      error: {
        code: -32600,
        message: `Invalid Request: message of ${line.length} bytes is over the limit of 10485760 bytes and was dropped`,
      },
    });
    expect(answers[2]).toMatchObject({ jsonrpc: '2.0', id: 2, result: { tools: expect.any(Array) } });
    server.stdin.end();
    const code = await new Promise<number | null>((resolve) => server.once('exit', resolve));
    expect(code).toBe(0);
    expect(err).toMatch(/mcp: message of \d+ bytes is over the limit of 10485760 bytes and was dropped/);
  });
});
