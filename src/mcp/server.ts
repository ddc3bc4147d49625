/**
 * portwatch as a Model Context Protocol server: four read-only tools for coding agents, one
 * that stops what holds a port, and the listeners as a resource clients can subscribe to.
 *
 *   list_listening_ports  what listens now (filters: protocol, port / range, process regex; limit)
 *   wait_for_port         block until a port listens on any address, or a clear timeout
 *   get_port_events       opens and closes since a cursor (optionally waiting for the next)
 *   who_owns_port         port → process, command line, working directory
 *   stop_port             signal what holds a port until it lets go (destructive; refuses itself, its ancestors, pid 1)
 *   portwatch://listeners the listening ports as JSON; updated notifications on change
 *
 * Lists, events and the resource follow the rules (ignore, silent, labels); wait_for_port
 * and who_owns_port answer about any listener, since naming a port is explicit.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { PortEvent } from '../listener.js';
import { labelEvent, type LabelledPortEvent } from '../rules/labelled.js';
import type { Rules } from '../rules/rules.js';
import { DEFAULT_POLICY } from '../watch/schedule.js';
import { createMcpEngine, type McpScanOptions } from './engine.js';
import { EventLog } from './event-log.js';
import { registerListenersResource } from './listeners-resource.js';
import { inScope } from './scope.js';
import type { ToolContext } from './tools/context.js';
import { registerGetPortEvents } from './tools/get-port-events.js';
import { registerListListeningPorts } from './tools/list-listening-ports.js';
import { registerStopPort } from './tools/stop-port.js';
import { registerWaitForPort } from './tools/wait-for-port.js';
import { registerWhoOwnsPort } from './tools/who-owns-port.js';

export { MAX_WAIT_MS } from './tools/wait-for-port.js';
export { MAX_EVENT_WAIT_MS } from './tools/get-port-events.js';

export interface PortwatchMcpOptions {
  /** Where and how to scan (source, netnsPid) and when to look (trigger). */
  scan?: McpScanOptions;
  /** Every network namespace of the host (`-A`): listeners carry netns and container; tools take netns/container. */
  allNamespaces?: boolean;
  /** Only listeners in this container (name, id or id prefix of 4+ hex digits); implies allNamespaces. */
  container?: string;
  rules: Rules;
  version: string;
  /**
   * Fixed scan interval (ms) for events and resource updates, and how often wait_for_port looks; default adaptive (waits: 100 ms).
   * With allNamespaces only how often a wait looks while polling: the namespaces are swept within a CPU budget.
   */
  interval?: number;
  /** Events kept for get_port_events (default 10,000). */
  eventCapacity?: number;
  onScanError?: (error: Error) => void;
}

export interface PortwatchMcp {
  server: McpServer;
  /** Stops the watcher and the scans. */
  close(): Promise<void>;
}

export function createPortwatchMcpServer(o: PortwatchMcpOptions): PortwatchMcp {
  const { rules } = o;
  const pollMs = o.interval ?? DEFAULT_POLICY.minMs;
  // Every tool, wait and the resource read through this one engine: one scanner, one watcher, one trigger.
  const container = o.container;
  const host = o.allNamespaces === true || container !== undefined;
  const engine = createMcpEngine({
    scan: o.scan ?? {},
    lookMs: pollMs,
    ...(host
      ? { allNamespaces: container === undefined ? {} : { filter: inScope({ container }) } }
      : o.interval !== undefined
        ? { interval: o.interval }
        : {}),
  });

  const events = new EventLog<LabelledPortEvent>(o.eventCapacity);
  const record = (e: PortEvent): void => {
    if (rules.filter(e.listener) && rules.announce(e.listener)) events.append(labelEvent(e, rules));
  };
  engine.watcher.on('close', record);
  engine.watcher.on('open', record);
  engine.watcher.on('error', (e) => o.onScanError?.(e));

  const server = new McpServer(
    { name: 'portwatch', version: o.version },
    {
      instructions:
        'portwatch knows which TCP/UDP ports listen on this machine (or container) and which process owns each. ' +
        'Use wait_for_port after starting a server instead of sleeping or curl loops; who_owns_port when a port is taken; ' +
        'get_port_events (keep the cursor) to learn which ports appeared or went away since you last looked, ' +
        'or subscribe to the resource portwatch://listeners to be told.' +
        (host
          ? ' It watches every network namespace of the host (containers too): each listener says its netns and container, ' +
            'the same port can listen in several, and stop_port needs netns or container to pick one.'
          : ''),
    },
  );

  const context: ToolContext = { server, engine, rules, events, pollMs };
  registerListListeningPorts(context);
  registerWaitForPort(context);
  registerGetPortEvents(context);
  registerWhoOwnsPort(context);
  registerStopPort(context);
  const stopUpdates = registerListenersResource(context);

  return {
    server,
    close: async () => {
      stopUpdates();
      await engine.close();
    },
  };
}
