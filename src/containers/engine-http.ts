/**
 * HTTP to a container engine over its unix socket, with node:http alone: one connection per
 * request (no agent, nothing pooled keeps the process alive), a deadline on every answer,
 * a bound on every body, and one sentence for every way the socket can fail.
 */
import { request, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { PortwatchError } from '../errors.js';

export interface EngineResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface EngineRequestOptions {
  /** The whole answer (headers and body) must be in by then. Default 5 s. */
  timeoutMs?: number;
  /** A longer body is refused (EENGINE). Default 4 MiB. */
  maxBytes?: number;
  signal?: AbortSignal;
}

export const DEFAULT_TIMEOUT_MS = 5_000;
export const DEFAULT_MAX_BYTES = 4 * 1024 * 1024;

/** What went wrong with the socket, in one sentence a person can act on. */
export function socketFailure(socketPath: string, e: unknown): string {
  switch ((e as NodeJS.ErrnoException).code) {
    case 'ENOENT':
      return `no socket at ${socketPath}`;
    case 'EACCES':
    case 'EPERM':
      return `permission denied on ${socketPath} (run as root, or as a member of the group that owns the socket)`;
    case 'ECONNREFUSED':
      return `nothing answers on ${socketPath} (is the engine running?)`;
    case 'ENOTSOCK':
      return `${socketPath} is not a socket`;
    case 'ECONNRESET':
      return `the engine on ${socketPath} closed the connection`;
    default:
      return `${socketPath}: ${(e as Error).message}`;
  }
}

export function asPortwatchError(socketPath: string, what: string, e: unknown, signal: AbortSignal | undefined): PortwatchError {
  if (signal?.aborted) return new PortwatchError('EABORTED', `${what} was aborted`);
  if (e instanceof PortwatchError) return e;
  return new PortwatchError('EENGINE', socketFailure(socketPath, e), { cause: e });
}

export interface OpenedResponse {
  res: IncomingMessage;
  /** Ends the exchange (idempotent): the connection is closed. */
  close(): void;
}

/**
 * Sends `GET path` and resolves once the response's headers are in (within `timeoutMs`); the
 * body is the caller's to read, and `close()` ends it. An abort destroys the connection at
 * any stage: before the headers the promise rejects with EABORTED, after them the body ends
 * with an error.
 */
export function openEngineResponse(
  socketPath: string,
  path: string,
  options: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<OpenedResponse> {
  const { signal } = options;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const what = `GET ${path} on ${socketPath}`;
  if (signal?.aborted) return Promise.reject(new PortwatchError('EABORTED', `${what} was aborted`));
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'GET', agent: false, signal, headers: { Host: 'docker', Accept: 'application/json' } });
    const timer = setTimeout(() => {
      req.destroy(new PortwatchError('EENGINE', `${socketPath} did not answer GET ${path} within ${timeoutMs} ms`));
    }, timeoutMs);
    req.once('error', (e) => {
      clearTimeout(timer);
      reject(asPortwatchError(socketPath, what, e, signal));
    });
    req.once('response', (res) => {
      clearTimeout(timer);
      req.removeAllListeners('error');
      req.on('error', () => {}); // later errors reach the body's reader through `res`
      resolve({ res, close: () => req.destroy() });
    });
    req.end();
  });
}

/**
 * The whole body of `res`, at most `maxBytes`, by `deadline` (ms since epoch). Rejects with
 * what destroyed the stream (an abort, a reset) or with EENGINE for a body too long or too late.
 */
export function readResponseBody(res: IncomingMessage, maxBytes: number, deadline: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const late = new PortwatchError('EENGINE', 'the engine did not finish its answer in time');
    const timer = setTimeout(() => res.destroy(late), Math.max(0, deadline - Date.now()));
    const done = (e: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (e === null) resolve(Buffer.concat(chunks, size));
      else reject(e);
    };
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) res.destroy(new PortwatchError('EENGINE', `the engine's answer was larger than ${maxBytes} bytes`));
      else chunks.push(chunk);
    });
    res.once('end', () => done(null));
    res.once('error', done);
    res.once('close', () => done(Object.assign(new Error('closed'), { code: 'ECONNRESET' })));
  });
}

/** `GET path` on the engine's socket: status, headers and the bounded body, all within `timeoutMs`. */
export async function engineRequest(socketPath: string, path: string, options: EngineRequestOptions = {}): Promise<EngineResponse> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  const { res, close } = await openEngineResponse(socketPath, path, { timeoutMs, signal: options.signal });
  try {
    const body = await readResponseBody(res, options.maxBytes ?? DEFAULT_MAX_BYTES, deadline);
    return { status: res.statusCode ?? 0, headers: res.headers, body };
  } catch (e) {
    throw asPortwatchError(socketPath, `GET ${path} on ${socketPath}`, e, options.signal);
  } finally {
    close();
  }
}
