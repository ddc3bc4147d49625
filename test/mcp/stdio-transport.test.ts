import { PassThrough } from 'node:stream';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { BoundedStdioServerTransport, idFromEdges } from '../../src/mcp/stdio-transport.js';
import { waitFor } from '../helpers/processes.js';

const opened: BoundedStdioServerTransport[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((t) => t.close()));
});

/** A transport over two in-process streams, recording what it delivers, answers and reports. */
async function harness(maxLineBytes: number) {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const transport = new BoundedStdioServerTransport({ stdin, stdout, maxLineBytes });
  opened.push(transport);
  const messages: JSONRPCMessage[] = [];
  const errors: string[] = [];
  let written = '';
  stdout.on('data', (d: Buffer) => (written += d.toString()));
  transport.onmessage = (m) => messages.push(m);
  transport.onerror = (e) => errors.push(e.message);
  await transport.start();
  const answers = (): unknown[] =>
    written
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as unknown);
  return { stdin, stdout, transport, messages, errors, answers };
}

const request = (id: number | string, extra: Record<string, unknown> = {}) => ({ jsonrpc: '2.0', id, method: 'tools/list', ...extra });

describe('BoundedStdioServerTransport', () => {
  it('delivers lines split across chunks, and several lines in one chunk', async () => {
    const h = await harness(1024);
    const a = JSON.stringify(request(1));
    const b = JSON.stringify(request(2));
    h.stdin.write(a.slice(0, 10));
    h.stdin.write(`${a.slice(10)}\r\n${b}\n\n${JSON.stringify(request(3))}`);
    await waitFor(() => h.messages.length === 2, 'two messages');
    h.stdin.write('\n');
    await waitFor(() => h.messages.length === 3, 'the third message once its line ends');
    expect(h.messages.map((m) => (m as { id: number }).id)).toEqual([1, 2, 3]);
    expect(h.errors).toEqual([]);
  });

  it('drops a line over the limit as it streams in, answers its id with an error, and serves the next line', async () => {
    const h = await harness(64 * 1024);
    const huge = JSON.stringify({
      method: 'tools/call',
      params: { name: 'x', arguments: { a: 'y'.repeat(300_000) } },
      jsonrpc: '2.0',
      id: 41,
    });
    for (let i = 0; i < huge.length; i += 10_000) h.stdin.write(huge.slice(i, i + 10_000)); // as a pipe delivers it
    h.stdin.write(`\n${JSON.stringify(request(42))}\n`);
    await waitFor(() => h.messages.length === 1 && h.answers().length === 1, 'the answer to the dropped line, and the next message');
    expect(h.answers()).toEqual([
      {
        jsonrpc: '2.0',
        id: 41,
        error: {
          code: -32600,
          message: `Invalid Request: message of ${huge.length} bytes is over the limit of 65536 bytes and was dropped`,
        },
      },
    ]);
    expect(h.messages).toEqual([request(42)]);
    expect(h.errors).toEqual([`message of ${huge.length} bytes is over the limit of 65536 bytes and was dropped (request id 41)`]);
  });

  it('answers a dropped line without an id when none can be read from its edges', async () => {
    const h = await harness(1024);
    h.stdin.write(`${'z'.repeat(5000)}\n${JSON.stringify(request('next'))}\n`);
    await waitFor(() => h.messages.length === 1, 'the next message');
    expect(h.answers()).toEqual([
      {
        jsonrpc: '2.0',
        error: { code: -32600, message: 'Invalid Request: message of 5000 bytes is over the limit of 1024 bytes and was dropped' },
      },
    ]);
  });

  it('answers a line that is not JSON, or not JSON-RPC, with the JSON-RPC error for it', async () => {
    const h = await harness(1024);
    h.stdin.write(`{oops\n${JSON.stringify({ id: 7, hello: 'world' })}\n${JSON.stringify(request(8))}\n`);
    await waitFor(() => h.messages.length === 1, 'the valid message');
    const answers = h.answers() as { id?: unknown; error: { code: number } }[];
    expect(answers.map((a) => [a.id, a.error.code])).toEqual([
      [undefined, -32700],
      [7, -32600],
    ]);
  });

  it('closes when its output is gone, so the server can end', async () => {
    const h = await harness(1024);
    let closed = false;
    h.transport.onclose = () => (closed = true);
    h.stdout.destroy(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    await waitFor(() => closed, 'the transport to close');
    expect(h.errors).toEqual(['write EPIPE']);
  });
});

describe('idFromEdges', () => {
  it('reads the id among the leading plain members, or as the last member', () => {
    expect(idFromEdges('{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"a":"', '')).toBe(5);
    expect(idFromEdges('{ "jsonrpc" : "2.0" , "id" : "a\\"b" ,', '')).toBe('a"b');
    expect(idFromEdges('{"method":"tools/call","params":{', '…xx"}},"jsonrpc":"2.0","id":12}')).toBe(12);
    expect(idFromEdges('{"method":"x","params":{', '…"}},"id":"req-1" }\r')).toBe('req-1');
  });

  it('never takes an id nested in params, or a value that is not an id', () => {
    expect(idFromEdges('{"method":"x","params":{"id":5,', '…"}}')).toBeUndefined();
    expect(idFromEdges('{"method":"x","params":{', '…"a":{"id":5}}')).toBeUndefined();
    expect(idFromEdges('{"id":1.5,', '')).toBeUndefined();
    expect(idFromEdges('zzzz', 'zzzz')).toBeUndefined();
  });
});
