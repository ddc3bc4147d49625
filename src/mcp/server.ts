/**
 * portwatch as a Model Context Protocol server: four read-only tools for coding agents.
 *
 *   list_listening_ports  what listens now (filters: protocol, port / range, process regex)
 *   wait_for_port         block until a port listens on any address, or a clear timeout
 *   get_port_events       opens and closes since a cursor (optionally waiting for the next)
 *   who_owns_port         port → process, command line, working directory
 *
 * Lists and events follow the rules (ignore, silent, labels); wait_for_port and
 * who_owns_port answer about any listener, since naming a port is explicit.
 */
import { readlinkSync } from 'node:fs';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { PortwatchError } from '../errors.js';
import type { Listener, PortEvent } from '../listener.js';
import type { Rules } from '../rules/rules.js';
import { withLabel, type LabelledPortEvent } from '../rules/labelled.js';
import { Scanner, type ScanOptions } from '../scan.js';
import { waitForPort } from '../wait.js';
import { PortWatcher } from '../watch/watcher.js';
import { EventLog } from './event-log.js';
import { listedListenerSchema, ownedListenerSchema, port, portEventSchema, protocolFilter } from './schemas.js';

export interface PortwatchMcpOptions {
  /** Where and how to scan (source, netnsPid). */
  scan?: ScanOptions;
  rules: Rules;
  version: string;
  /** Fixed scan interval for the event watcher (ms); default adaptive. */
  interval?: number;
  /** Events kept for get_port_events (default 10,000). */
  eventCapacity?: number;
  onScanError?: (error: Error) => void;
}

export interface PortwatchMcp {
  server: McpServer;
  /** Stops the event watcher. */
  close(): Promise<void>;
}

export const MAX_WAIT_MS = 600_000;
export const MAX_EVENT_WAIT_MS = 60_000;

const READ_ONLY = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false } as const;

function cwdOf(pid: number): string | null {
  try {
    return readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return null;
  }
}

function result<T extends Record<string, unknown>>(structured: T, summary: string) {
  return {
    structuredContent: structured,
    content: [
      { type: 'text' as const, text: summary },
      { type: 'text' as const, text: JSON.stringify(structured) },
    ],
  };
}

function short(l: Listener, label: string | null): string {
  const where = l.family === 6 ? `[${l.address}]:${l.port}` : `${l.address}:${l.port}`;
  const who = l.process ? `${l.process.name} (pid ${l.process.pid})` : 'unknown process';
  return `${l.protocol} ${where} ${who}${label === null ? '' : ` [${label}]`}`;
}

function regexOf(text: string): RegExp {
  try {
    return new RegExp(text);
  } catch (e) {
    throw new PortwatchError('EUSAGE', `invalid regular expression '${text}': ${(e as Error).message}`);
  }
}

export function createPortwatchMcpServer(o: PortwatchMcpOptions): PortwatchMcp {
  const scanOptions = o.scan ?? {};
  const { rules } = o;
  const scanner = new Scanner(scanOptions);
  // One scan at a time through the shared scanner (its caches are not for concurrent use).
  let queue: Promise<unknown> = Promise.resolve();
  const scanNow = (): Promise<Listener[]> => {
    const next = queue.then(() => scanner.scan()).then((r) => r.listeners);
    queue = next.catch(() => {});
    return next;
  };

  const log = new EventLog<LabelledPortEvent>(o.eventCapacity);
  const watcher = new PortWatcher({
    ...scanOptions,
    filter: rules.filter,
    persistent: false,
    ...(o.interval !== undefined ? { interval: o.interval } : {}),
  });
  const record = (e: PortEvent): void => {
    if (rules.announce(e.listener)) log.append({ ...e, listener: withLabel(e.listener, rules) });
  };
  watcher.on('close', record);
  watcher.on('open', record);
  watcher.on('error', (e) => o.onScanError?.(e));

  const server = new McpServer(
    { name: 'portwatch', version: o.version },
    {
      instructions:
        'portwatch knows which TCP/UDP ports listen on this machine (or container) and which process owns each. ' +
        'Use wait_for_port after starting a server instead of sleeping or curl loops; who_owns_port when a port is taken; ' +
        'get_port_events (keep the cursor) to learn which ports appeared or went away since you last looked.',
    },
  );

  server.registerTool(
    'list_listening_ports',
    {
      title: 'List listening ports',
      description:
        'The TCP and UDP ports listening now, with the owning process (pid, name, command line) and the label the project config gives them. ' +
        'Listeners the config ignores, or whose process was started with PORTWATCH_IGNORE=1, are left out unless include_ignored is true.',
      inputSchema: {
        protocol: protocolFilter().default('any').describe('tcp, udp or any (default)'),
        port: port().optional().describe('only this port'),
        min_port: port().optional().describe('only ports >= this'),
        max_port: port().optional().describe('only ports <= this'),
        process: z.string().optional().describe('only processes whose name or command line matches this regular expression'),
        include_ignored: z.boolean().default(false).describe('also list what the rules hide, saying why in "ignored"'),
      },
      outputSchema: { listeners: z.array(listedListenerSchema()), count: z.number().int(), hidden: z.number().int() },
      annotations: READ_ONLY,
    },
    async (args) => {
      const re = args.process === undefined ? null : regexOf(args.process);
      if (args.min_port !== undefined && args.max_port !== undefined && args.min_port > args.max_port)
        throw new PortwatchError('EUSAGE', `min_port ${args.min_port} is above max_port ${args.max_port}`);
      const wanted = (await scanNow()).filter(
        (l) =>
          (args.protocol === 'any' || l.protocol === args.protocol) &&
          (args.port === undefined || l.port === args.port) &&
          (args.min_port === undefined || l.port >= args.min_port) &&
          (args.max_port === undefined || l.port <= args.max_port) &&
          (re === null || (l.process !== null && (re.test(l.process.name) || re.test(l.process.command)))),
      );
      const shown = args.include_ignored ? wanted : wanted.filter(rules.filter);
      const listeners = shown.map((l) => ({ ...withLabel(l, rules), ...(args.include_ignored ? { ignored: rules.whyIgnored(l) } : {}) }));
      const hidden = wanted.length - shown.length;
      const lines = listeners.map((l) => short(l, l.label));
      const summary =
        `${listeners.length} listener(s)${hidden > 0 ? ` (${hidden} hidden by the rules)` : ''}` +
        (lines.length > 0 ? `:\n${lines.join('\n')}` : '');
      return result({ listeners, count: listeners.length, hidden }, summary);
    },
  );

  server.registerTool(
    'wait_for_port',
    {
      title: 'Wait for a port',
      description:
        'Waits until a port is listening on any address (127.0.0.1, ::1, 0.0.0.0, :: …) and returns its listener(s); ' +
        'returns status "timeout" (not an error) when the time is up. Reads the socket table: the server sees no probe connection.',
      inputSchema: {
        port: port().describe('the port to wait for'),
        timeout_ms: z
          .number()
          .int()
          .min(0)
          .max(MAX_WAIT_MS)
          .default(30_000)
          .describe(`give up after this many ms (default 30000, at most ${MAX_WAIT_MS})`),
        protocol: protocolFilter().default('tcp').describe('tcp (default), udp or any'),
      },
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
      const started = Date.now();
      const proto = args.protocol === 'any' ? '' : `${args.protocol} `;
      try {
        const found = await waitForPort(args.port, {
          ...scanOptions,
          protocol: args.protocol,
          timeout: args.timeout_ms,
          signal: extra.signal,
        });
        const listeners = found.map((l) => withLabel(l, rules));
        const waited = Date.now() - started;
        const message = `${proto}port ${args.port} is listening: ${listeners.map((l) => short(l, l.label)).join(', ')}`;
        return result({ status: 'listening' as const, port: args.port, waited_ms: waited, listeners, message }, message);
      } catch (e) {
        if (!(e instanceof PortwatchError) || e.code !== 'ETIMEOUT') throw e;
        const waited = Date.now() - started;
        const message = `timed out after ${args.timeout_ms} ms: nothing is listening on ${proto}port ${args.port}`;
        return result({ status: 'timeout' as const, port: args.port, waited_ms: waited, listeners: [], message }, message);
      }
    },
  );

  server.registerTool(
    'get_port_events',
    {
      title: 'Port events since a cursor',
      description:
        'Ports opened and closed since `since` (a cursor from a previous call; without one, every event since the server started). ' +
        'Pass back the returned cursor next time. With wait_ms, waits up to that long for the next event when there is none yet. ' +
        'Ports listening when the server started are initial state, never events. Ignored and silent ports are left out.',
      inputSchema: {
        since: z.string().optional().describe('the cursor returned by the previous call'),
        wait_ms: z
          .number()
          .int()
          .min(0)
          .max(MAX_EVENT_WAIT_MS)
          .default(0)
          .describe(`wait up to this long for an event (default 0, at most ${MAX_EVENT_WAIT_MS})`),
        limit: z.number().int().min(1).max(1000).default(100).describe('at most this many events (default 100)'),
      },
      outputSchema: {
        events: z.array(portEventSchema()),
        cursor: z.string().describe('pass this back as `since`'),
        missed: z.number().int().describe('events no longer kept that you did not get'),
        reset: z.boolean().describe('the cursor was from an earlier server: reading started over'),
        more: z.boolean().describe('more events are waiting: call again at once'),
      },
      annotations: { ...READ_ONLY, idempotentHint: false },
    },
    async (args, extra) => {
      if (args.since !== undefined) log.parseCursor(args.since); // a malformed cursor is an error before any wait
      await watcher.whenReady().catch(() => {});
      await log.waitForNews(args.since, args.wait_ms, extra.signal);
      const r = log.read(args.since, args.limit);
      const lines = r.events.map((e) => `${e.time} ${e.type === 'open' ? '+' : '-'} ${short(e.listener, e.listener.label)}`);
      const summary =
        `${r.events.length} event(s)${r.more ? ' (more waiting)' : ''}${r.missed > 0 ? `, ${r.missed} missed` : ''}${r.reset ? ', cursor reset' : ''}; cursor ${r.cursor}` +
        (lines.length > 0 ? `:\n${lines.join('\n')}` : '');
      return result({ ...r }, summary);
    },
  );

  server.registerTool(
    'who_owns_port',
    {
      title: 'Who owns a port',
      description:
        'The process listening on a port: pid, name, command line and working directory (when readable), on every address and protocol. ' +
        'Answers about any listener, including ones the rules hide (then "ignored" says why).',
      inputSchema: {
        port: port().describe('the port to look up'),
        protocol: protocolFilter().default('any').describe('tcp, udp or any (default)'),
      },
      outputSchema: { port: port(), found: z.boolean(), listeners: z.array(ownedListenerSchema()), message: z.string() },
      annotations: READ_ONLY,
    },
    async (args) => {
      const found = (await scanNow()).filter((l) => l.port === args.port && (args.protocol === 'any' || l.protocol === args.protocol));
      const listeners = found.map((l) => ({
        ...withLabel(l, rules),
        process: l.process === null ? null : { ...l.process, cwd: cwdOf(l.process.pid) },
        ignored: rules.whyIgnored(l),
      }));
      const message =
        listeners.length === 0
          ? `nothing is listening on ${args.protocol === 'any' ? '' : `${args.protocol} `}port ${args.port}`
          : listeners
              .map(
                (l) => `${short(l, l.label)}${l.process ? `: ${l.process.command}${l.process.cwd ? ` (in ${l.process.cwd})` : ''}` : ''}`,
              )
              .join('\n');
      return result({ port: args.port, found: listeners.length > 0, listeners, message }, message);
    },
  );

  return {
    server,
    close: async () => {
      await watcher.close();
      await queue;
      scanner.close();
    },
  };
}
