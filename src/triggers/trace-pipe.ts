/**
 * Reading a tracefs `trace_pipe` without a thread: the file supports poll(), so it is
 * opened O_NONBLOCK and handed to libuv as a pipe handle, which waits for it in epoll like
 * any socket. The obvious fs.createReadStream() would park a blocking read() on a libuv
 * threadpool thread for as long as no event comes (forever, on a quiet host), starving the
 * host program's fs and dns calls, and that read could not be cancelled on close.
 *
 * Node's public API refuses to wrap a non-socket fd (net.Socket({ fd }) checks the fd's
 * type), so the pipe handle comes from the `pipe_wrap` binding, the same one child_process
 * uses for stdio. When that binding is gone, the reader reports itself unavailable and
 * `auto` polls instead.
 */
import { constants, openSync, closeSync } from 'node:fs';
import { Socket } from 'node:net';
import type { Hint } from './trigger.js';

/** Lines are ~250 bytes; a burst larger than this is read in several rounds. */
const READ_BUFFER = 16 * 1024;

interface PipeHandle {
  open(fd: number): number;
}
type PipeConstructor = new (type: number) => PipeHandle;

function pipeBinding(): { Pipe: PipeConstructor; socketType: number } | null {
  try {
    const binding = (process as unknown as { binding(name: string): unknown }).binding('pipe_wrap') as {
      Pipe?: PipeConstructor;
      constants?: { SOCKET?: number };
    };
    if (typeof binding.Pipe !== 'function' || typeof binding.constants?.SOCKET !== 'number') return null;
    return { Pipe: binding.Pipe, socketType: binding.constants.SOCKET };
  } catch {
    return null;
  }
}

/** Why trace_pipe cannot be read without a thread here, or null when it can. */
export function pipeReaderUnavailableReason(): string | null {
  return pipeBinding() === null ? `Node.js ${process.version} offers no pipe handle for a non-socket fd` : null;
}

/**
 * Opens `path` for reading through epoll and passes each chunk read to `onChunk`. The
 * socket owns the fd: destroy() closes it at once (so the instance can be removed right
 * after). Unref'd: it never keeps a process alive. Reads land in one reused buffer
 * (`onread`) rather than a fresh 64 KiB one each, which is garbage the host would pay for.
 */
export function openTracePipe(path: string, onChunk: (text: string) => void): Socket {
  const binding = pipeBinding();
  if (binding === null) throw new Error(pipeReaderUnavailableReason() ?? 'no pipe handle');
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const handle = new binding.Pipe(binding.socketType);
  const err = handle.open(fd);
  if (err !== 0) {
    closeSync(fd);
    throw new Error(`cannot watch ${path} with epoll (error ${err})`);
  }
  const buffer = Buffer.allocUnsafe(READ_BUFFER);
  const socket = new Socket({
    handle,
    readable: true,
    writable: false,
    onread: { buffer, callback: (n: number) => void onChunk(buffer.toString('latin1', 0, n)) },
  } as ConstructorParameters<typeof Socket>[0]);
  socket.unref();
  return socket;
}

const LOST_RE = /\[LOST \d+ EVENTS\]/;
const SPORT_RE = /\bsport=(\d+)/;
/** `<comm>-<tid> [cpu]`: comm may hold spaces and dashes, the tid is the last number before the cpu. */
const TID_RE = /-(\d+)\s+\[\d+\]/;

function withTid(hint: Hint, line: string): Hint {
  const tid = TID_RE.exec(line)?.[1];
  return tid === undefined ? hint : { ...hint, tid: Number(tid) };
}

/**
 * One trace_pipe line → a hint, or null for anything else (our own trace_marker writes,
 * events this reader did not ask for). The filters in the instance already drop accepted
 * connections and failed binds; this only names what is left.
 */
export function parseTraceLine(line: string): Hint | null {
  if (line.includes(' inet_sock_set_state: ')) {
    const kind = line.includes(' newstate=TCP_LISTEN')
      ? 'listen'
      : line.includes(' oldstate=TCP_LISTEN newstate=TCP_CLOSE')
        ? 'unlisten'
        : null;
    if (kind === null) return null;
    const port = SPORT_RE.exec(line)?.[1];
    return withTid(port === undefined ? { kind } : { kind, port: Number(port) }, line);
  }
  if (line.endsWith(' sys_bind -> 0x0')) return withTid({ kind: 'bind' }, line);
  if (LOST_RE.test(line)) return { kind: 'lost' };
  return null;
}

/** A line longer than this is not a trace event: drop it rather than buffer without bound. */
const MAX_LINE = 4096;

/** Splits chunks into whole lines; a line cut between two chunks is kept for the next one. */
export class LineSplitter {
  private rest = '';

  push(chunk: string): string[] {
    const text = this.rest + chunk;
    const lines = text.split('\n');
    const tail = lines.pop() ?? '';
    this.rest = tail.length > MAX_LINE ? '' : tail;
    return lines;
  }
}
