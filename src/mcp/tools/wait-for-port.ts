import { z } from 'zod';
import type { Listener } from '../../listener.js';
import { withLabel } from '../../rules/labelled.js';
import { integerArg, portArg, protocolArg, toolArguments } from '../arguments.js';
import { compactListener, short } from '../compact.js';
import type { McpEngine } from '../engine.js';
import { listedListenerSchema, port } from '../schemas.js';
import { describeScope, inScope, scopeArgs } from '../scope.js';
import { READ_ONLY, toolResult, type ToolContext } from './context.js';

export const MAX_WAIT_MS = 600_000;

/**
 * Resolves with the listeners `matches` picks once a scan that started after the call shows
 * one, or with null when the time is up. Concurrent waits share the engine's watcher: with
 * kernel events a listen() is answered within milliseconds; when polling, the engine looks
 * every `pollMs` while anyone waits. The answer comes by `timeoutMs + pollMs` at the latest:
 * one more look is asked for at the deadline, and a scan still running then (the first one on
 * a big host walks every /proc/PID/fd) gets one interval more, then is left to finish alone.
 */
export function waitForListeners(
  engine: McpEngine,
  matches: (l: Listener) => boolean,
  timeoutMs: number,
  pollMs: number,
  signal: AbortSignal,
): Promise<Listener[] | null> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(null);
    const deadline = performance.now() + timeoutMs;
    const finish = (found: Listener[] | null): void => {
      stop();
      clearTimeout(lastLook);
      clearTimeout(giveUp);
      signal.removeEventListener('abort', onAbort);
      resolve(found);
    };
    const onAbort = (): void => finish(null);
    const stop = engine.follow((listeners) => {
      const found = listeners.filter(matches);
      if (found.length > 0) finish(found);
      else if (performance.now() >= deadline) finish(null);
    });
    const lastLook = setTimeout(() => engine.watcher.rescan(), timeoutMs);
    const giveUp = setTimeout(() => finish(null), timeoutMs + pollMs);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export function registerWaitForPort({ server, engine, rules, pollMs }: ToolContext): void {
  const host = engine.allNamespaces;
  server.registerTool(
    'wait_for_port',
    {
      title: 'Wait for a port',
      description:
        'Waits until a port is listening on any address (127.0.0.1, ::1, 0.0.0.0, :: …) and returns its listener(s); ' +
        `returns status "timeout" (not an error) when the time is up, within ${pollMs} ms of timeout_ms. ` +
        'Reads the socket table: the server sees no probe connection.' +
        (host
          ? ' Every network namespace of the host, those made after the call too: returns every namespace where the port listens (netns, container); netns or container wait for one.'
          : ''),
      inputSchema: toolArguments('wait_for_port', {
        port: portArg().describe('the port to wait for'),
        timeout_ms: integerArg(z.number().int().min(0).max(MAX_WAIT_MS))
          .default(30_000)
          .describe(`give up after this many ms (default 30000, at most ${MAX_WAIT_MS}; 0 looks once)`),
        protocol: protocolArg().default('tcp').describe('tcp (default), udp or any'),
        ...scopeArgs(host),
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
      const scoped = inScope(args);
      const where = describeScope(args);
      const matches = (l: Listener): boolean =>
        l.port === args.port && (args.protocol === 'any' || l.protocol === args.protocol) && scoped(l);
      const found = await waitForListeners(engine, matches, args.timeout_ms, pollMs, extra.signal);
      const waited = Math.round(performance.now() - started);
      if (found === null) {
        const message = `timed out after ${args.timeout_ms} ms: nothing is listening on ${proto}port ${args.port}${where}`;
        return toolResult({ status: 'timeout' as const, port: args.port, waited_ms: waited, listeners: [], message }, message);
      }
      const listeners = found.map((l) => compactListener(withLabel(l, rules), false));
      const message = `${proto}port ${args.port} is listening${where}: ${listeners.map((l) => short(l, l.label, host)).join(', ')}`;
      return toolResult({ status: 'listening' as const, port: args.port, waited_ms: waited, listeners, message }, message);
    },
  );
}
