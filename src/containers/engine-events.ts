/**
 * Container events from the engine (GET /events, type=container) as an async iterable:
 * one JSON object per line, read in bounded memory. An abort ends the iteration cleanly
 * (no error); so does the engine closing the stream (it stopped). Breaking out of the loop
 * closes the connection.
 */
import { PortwatchError } from '../errors.js';
import { engineAnswerError, findEngine, type EngineOptions } from './engine-api.js';
import { asPortwatchError, DEFAULT_TIMEOUT_MS, openEngineResponse, readResponseBody } from './engine-http.js';
import { containerEventFromJson, type ContainerEvent } from './engine-json.js';
import { LineSplitter } from './json-lines.js';

export type { ContainerAction, ContainerEvent } from './engine-json.js';

export interface ContainerEventsOptions extends EngineOptions {
  /** Also the events since this time (ms since the epoch) that the engine still remembers: nothing is missed between a look and the subscription. */
  since?: number;
  /** A longer event is an error (EENGINE), not a growing buffer. Default 1 MiB. */
  maxLineBytes?: number;
}

const DEFAULT_MAX_LINE = 1024 * 1024;

/** `since` as the engine reads it: seconds, a dot, nanoseconds. */
export function engineTimestamp(ms: number): string {
  const whole = Math.floor(ms);
  return `${Math.floor(whole / 1000)}.${String((whole % 1000) * 1_000_000).padStart(9, '0')}`;
}

function eventsPath(since: number | undefined): string {
  const query = new URLSearchParams({ filters: JSON.stringify({ type: ['container'] }) });
  if (since !== undefined) {
    if (!Number.isFinite(since) || since < 0)
      throw new PortwatchError('EUSAGE', `since must be a time in ms since the epoch, not ${since}`);
    query.set('since', engineTimestamp(since));
  }
  return `/events?${query.toString()}`;
}

/**
 * The engine's container events as they happen: start, die, stop, restart, … Rejects (on the
 * first `next()`) with EENGINE when no engine answers, and throws EENGINE if the stream breaks
 * or carries something that is not an event line.
 */
export async function* containerEvents(options: ContainerEventsOptions = {}): AsyncGenerator<ContainerEvent, void, undefined> {
  const { signal } = options;
  const path = eventsPath(options.since);
  if (signal?.aborted) return;
  let opened: Awaited<ReturnType<typeof openEngineResponse>>;
  let engine: Awaited<ReturnType<typeof findEngine>>;
  try {
    engine = options.engine ?? (await findEngine(options));
    opened = await openEngineResponse(engine.socketPath, path, { timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS, signal });
  } catch (e) {
    if (signal?.aborted) return;
    throw e;
  }
  const { res, close } = opened;
  try {
    if (res.statusCode !== 200) {
      const body = await readResponseBody(res, 64 * 1024, Date.now() + DEFAULT_TIMEOUT_MS);
      throw engineAnswerError(engine, 'GET /events', { status: res.statusCode ?? 0, headers: res.headers, body });
    }
    const lines = new LineSplitter(options.maxLineBytes ?? DEFAULT_MAX_LINE);
    for await (const chunk of res as AsyncIterable<Buffer>) {
      for (const line of lines.push(chunk)) {
        let value: unknown;
        try {
          value = JSON.parse(line);
        } catch {
          throw new PortwatchError('EENGINE', `${engine.runtime} on ${engine.socketPath} sent an event line that is not JSON`);
        }
        const event = containerEventFromJson(value, engine.runtime);
        if (event !== null) yield event;
      }
      if (lines.overflowed) {
        throw new PortwatchError(
          'EENGINE',
          `${engine.runtime} on ${engine.socketPath} sent an event longer than ${lines.maxLineBytes} bytes`,
        );
      }
    }
  } catch (e) {
    if (signal?.aborted) return;
    throw asPortwatchError(engine.socketPath, 'GET /events', e, signal);
  } finally {
    close();
  }
}
