/**
 * MCP over stdio with a bounded line reader. The SDK's StdioServerTransport closes itself
 * when a line passes its buffer limit, after which the server never answers again and the
 * process ends with nothing said. Here a line over the limit is dropped as it streams in
 * (never held), answered with a JSON-RPC error carrying its id when the id can be read
 * from the line's first or last bytes, and the next line is served as usual. Lines that
 * are not JSON, or not JSON-RPC, are answered with the JSON-RPC error for them too.
 */
import type { Readable, Writable } from 'node:stream';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, JSONRPCMessageSchema, type JSONRPCMessage, type RequestId } from '@modelcontextprotocol/sdk/types.js';

/** The SDK's own limit; a message this big is a mistake, never a tool call. */
export const MAX_LINE_BYTES = 10 * 1024 * 1024;
/** How much of each end of a dropped line is kept to find its id. */
const EDGE_BYTES = 1024;

const STRING = String.raw`"(?:[^"\\]|\\.)*"`;
const SCALAR = String.raw`(?:${STRING}|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)`;
const ID_VALUE = String.raw`(-?\d+|${STRING})`;
/** `{"jsonrpc":"2.0","id":7,…`: the id among the leading members with plain values (so at the top level). */
const ID_AT_HEAD = new RegExp(String.raw`^\s*\{(?:\s*${STRING}\s*:\s*${SCALAR}\s*,)*?\s*"id"\s*:\s*${ID_VALUE}\s*[,}]`);
/** `…,"id":7}` as the line's last member: the final brace closes the top-level object. */
const ID_AT_TAIL = new RegExp(String.raw`[,{]\s*"id"\s*:\s*${ID_VALUE}\s*\}\s*$`);

/** The request id of a message too big to parse, when its edges show it; undefined otherwise. */
export function idFromEdges(head: string, tail: string): RequestId | undefined {
  const text = ID_AT_HEAD.exec(head)?.[1] ?? ID_AT_TAIL.exec(tail)?.[1];
  if (text === undefined) return undefined;
  try {
    const id: unknown = JSON.parse(text);
    return typeof id === 'string' || (typeof id === 'number' && Number.isSafeInteger(id)) ? id : undefined;
  } catch {
    return undefined;
  }
}

function idOf(value: unknown): RequestId | undefined {
  if (typeof value !== 'object' || value === null || !('id' in value)) return undefined;
  const { id } = value;
  return typeof id === 'string' || (typeof id === 'number' && Number.isSafeInteger(id)) ? id : undefined;
}

export interface BoundedStdioOptions {
  stdin?: Readable;
  stdout?: Writable;
  maxLineBytes?: number;
}

export class BoundedStdioServerTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  private readonly stdin: Readable;
  private readonly stdout: Writable;
  private readonly maxLineBytes: number;
  private chunks: Buffer[] = [];
  private size = 0;
  /** The line in progress is over the limit: only its edges are kept. */
  private dropping: { head: Buffer; tail: Buffer } | null = null;
  private started = false;
  private closed = false;

  constructor(o: BoundedStdioOptions = {}) {
    this.stdin = o.stdin ?? process.stdin;
    this.stdout = o.stdout ?? process.stdout;
    this.maxLineBytes = o.maxLineBytes ?? MAX_LINE_BYTES;
  }

  async start(): Promise<void> {
    if (this.started) throw new Error('BoundedStdioServerTransport already started');
    this.started = true;
    this.stdin.on('data', this.onData);
    this.stdin.on('error', this.onStreamError);
    this.stdout.on('error', this.onWriteError);
  }

  send(message: JSONRPCMessage): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed) return resolve();
      if (this.stdout.write(`${JSON.stringify(message)}\n`)) resolve();
      else this.stdout.once('drain', resolve).once('close', resolve);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stdin.off('data', this.onData);
    this.stdin.off('error', this.onStreamError);
    this.stdout.off('error', this.onWriteError);
    if (this.stdin.listenerCount('data') === 0) this.stdin.pause();
    this.chunks = [];
    this.dropping = null;
    this.onclose?.();
  }

  private readonly onStreamError = (error: Error): void => this.onerror?.(error);

  /** Nobody reads our answers any more (EPIPE): the session is over. */
  private readonly onWriteError = (error: Error): void => {
    this.onerror?.(error);
    void this.close();
  };

  private readonly onData = (chunk: Buffer): void => {
    let start = 0;
    while (start <= chunk.length && !this.closed) {
      const nl = chunk.indexOf(10, start);
      this.take(chunk.subarray(start, nl === -1 ? chunk.length : nl));
      if (nl === -1) return;
      this.endLine();
      start = nl + 1;
    }
  };

  private take(part: Buffer): void {
    if (part.length === 0) return;
    this.size += part.length;
    if (this.dropping) {
      const tail = part.length >= EDGE_BYTES ? part : Buffer.concat([this.dropping.tail, part]);
      this.dropping.tail = Buffer.from(tail.subarray(Math.max(0, tail.length - EDGE_BYTES)));
      return;
    }
    if (this.size <= this.maxLineBytes) {
      this.chunks.push(part);
      return;
    }
    const all = Buffer.concat([...this.chunks, part]);
    this.chunks = [];
    this.dropping = { head: Buffer.from(all.subarray(0, EDGE_BYTES)), tail: Buffer.from(all.subarray(all.length - EDGE_BYTES)) };
  }

  private endLine(): void {
    const { size, dropping } = this;
    const text = dropping ? '' : Buffer.concat(this.chunks).toString('utf8');
    this.chunks = [];
    this.size = 0;
    this.dropping = null;
    if (dropping) {
      const id = idFromEdges(dropping.head.toString('utf8'), dropping.tail.toString('utf8'));
      const message = `message of ${size} bytes is over the limit of ${this.maxLineBytes} bytes and was dropped`;
      this.onerror?.(new Error(`${message}${id === undefined ? '' : ` (request id ${JSON.stringify(id)})`}`));
      this.reply(id, ErrorCode.InvalidRequest, `Invalid Request: ${message}`);
      return;
    }
    const line = text.replace(/\r$/, '');
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      this.onerror?.(new Error(`a line that is not JSON was answered with a parse error: ${(e as Error).message}`));
      this.reply(undefined, ErrorCode.ParseError, `Parse error: ${(e as Error).message}`);
      return;
    }
    const parsed = JSONRPCMessageSchema.safeParse(value);
    if (!parsed.success) {
      const id = idOf(value);
      this.onerror?.(new Error('a message that is not JSON-RPC 2.0 was answered with an error'));
      this.reply(id, ErrorCode.InvalidRequest, 'Invalid Request: not a JSON-RPC 2.0 message');
      return;
    }
    try {
      this.onmessage?.(parsed.data);
    } catch (e) {
      this.onerror?.(e instanceof Error ? e : new Error(String(e)));
    }
  }

  /** A JSON-RPC error; without an id when the message's own cannot be known. */
  private reply(id: RequestId | undefined, code: number, message: string): void {
    void this.send({ jsonrpc: '2.0', ...(id === undefined ? {} : { id }), error: { code, message } } as JSONRPCMessage);
  }
}
