import { z } from 'zod';
import type { Listener } from '../../listener.js';
import { withLabel } from '../../rules/labelled.js';
import { integerArg, portArg, protocolArg, toolArguments } from '../arguments.js';
import { compactListener, short } from '../compact.js';
import type { McpEngine } from '../engine.js';
import { listedListenerSchema, port } from '../schemas.js';
import { READ_ONLY, toolResult, type ToolContext } from './context.js';

export const MAX_WAIT_MS = 600_000;

/** Resolves after `ms`, or at once when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    signal.addEventListener('abort', done, { once: true });
  });
}

/** The scan's listeners, or null when it fails, is not done within `ms`, or `signal` aborts. */
async function scanWithin(engine: McpEngine, ms: number, signal: AbortSignal): Promise<Listener[] | null> {
  if (signal.aborted) return null;
  let timer: NodeJS.Timeout | undefined;
  let onAbort = (): void => {};
  const giveUp = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), Math.max(0, ms));
    onAbort = () => resolve(null);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([engine.scanNow().catch(() => null), giveUp]);
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
  }
}

/**
 * Looks every `pollMs` until a listener on `port` shows, or the time is up. Each look is a
 * scan that starts after the call, so a listener that closed a moment ago is never reported.
 * The answer comes by `timeoutMs + pollMs` at the latest: a scan still running at the
 * deadline (the first one on a big host walks every /proc/PID/fd) gets one interval more,
 * then is left to finish on its own.
 */
export async function waitForListeners(
  engine: McpEngine,
  matches: (l: Listener) => boolean,
  timeoutMs: number,
  pollMs: number,
  signal: AbortSignal,
): Promise<Listener[] | null> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const listeners = await scanWithin(engine, deadline + pollMs - performance.now(), signal);
    const found = listeners?.filter(matches) ?? [];
    if (found.length > 0) return found;
    const left = deadline - performance.now();
    if (left <= 0 || signal.aborted) return null;
    await pause(Math.min(pollMs, left), signal);
  }
}

export function registerWaitForPort({ server, engine, rules, pollMs }: ToolContext): void {
  server.registerTool(
    'wait_for_port',
    {
      title: 'Wait for a port',
      description:
        'Waits until a port is listening on any address (127.0.0.1, ::1, 0.0.0.0, :: …) and returns its listener(s); ' +
        `returns status "timeout" (not an error) when the time is up, within ${pollMs} ms of timeout_ms. ` +
        'Reads the socket table: the server sees no probe connection.',
      inputSchema: toolArguments('wait_for_port', {
        port: portArg().describe('the port to wait for'),
        timeout_ms: integerArg(z.number().int().min(0).max(MAX_WAIT_MS))
          .default(30_000)
          .describe(`give up after this many ms (default 30000, at most ${MAX_WAIT_MS}; 0 looks once)`),
        protocol: protocolArg().default('tcp').describe('tcp (default), udp or any'),
      }),
      outputSchema: {
        status: z.enum(['listening', 'timeout']),
        port: port(),
        waited_ms: z.number().int(),
        listeners: z.array(listedListenerSchema()),
        message: z.string(),
      },
      annotations: READ_ONLY,
    },
    async (args, extra) => {
      const started = performance.now();
      const proto = args.protocol === 'any' ? '' : `${args.protocol} `;
      const matches = (l: Listener): boolean => l.port === args.port && (args.protocol === 'any' || l.protocol === args.protocol);
      const found = await waitForListeners(engine, matches, args.timeout_ms, pollMs, extra.signal);
      const waited = Math.round(performance.now() - started);
      if (found === null) {
        const message = `timed out after ${args.timeout_ms} ms: nothing is listening on ${proto}port ${args.port}`;
        return toolResult({ status: 'timeout' as const, port: args.port, waited_ms: waited, listeners: [], message }, message);
      }
      const listeners = found.map((l) => compactListener(withLabel(l, rules), false));
      const message = `${proto}port ${args.port} is listening: ${listeners.map((l) => short(l, l.label)).join(', ')}`;
      return toolResult({ status: 'listening' as const, port: args.port, waited_ms: waited, listeners, message }, message);
    },
  );
}
