import { z } from 'zod';
import { PortwatchError } from '../../errors.js';
import { withLabel } from '../../rules/labelled.js';
import { booleanArg, integerArg, portArg, protocolArg, toolArguments } from '../arguments.js';
import { compactListener, listenerTable } from '../compact.js';
import { regexOf } from '../process-pattern.js';
import { listedListenerSchema } from '../schemas.js';
import { inScope, scopeArgs } from '../scope.js';
import { READ_ONLY, toolResult, type ToolContext } from './context.js';

export const LIST_DEFAULT_LIMIT = 100;
export const LIST_MAX_LIMIT = 1000;

export function registerListListeningPorts({ server, engine, rules }: ToolContext): void {
  const host = engine.allNamespaces;
  server.registerTool(
    'list_listening_ports',
    {
      title: 'List listening ports',
      description:
        'The TCP and UDP ports listening now, with the owning process (pid, name, command line) and the label the project config gives them. ' +
        'Listeners the config ignores, or whose process was started with PORTWATCH_IGNORE=1, are left out unless include_ignored is true. ' +
        `Command lines are cut at 200 characters unless full_command is true; at most limit (default ${LIST_DEFAULT_LIMIT}) listeners are returned.` +
        (host
          ? ' Every network namespace of the host: each listener says its netns and container; netns or container narrow the list.'
          : ''),
      inputSchema: toolArguments('list_listening_ports', {
        protocol: protocolArg().default('any').describe('tcp, udp or any (default)'),
        port: portArg().optional().describe('only this port'),
        min_port: portArg().optional().describe('only ports >= this'),
        max_port: portArg().optional().describe('only ports <= this'),
        process: z.string().optional().describe('only processes whose name or command line matches this regular expression'),
        include_ignored: booleanArg().default(false).describe('also list what the rules hide, saying why in "ignored"'),
        full_command: booleanArg().default(false).describe('whole command lines instead of their first 200 characters'),
        limit: integerArg(z.number().int().min(1).max(LIST_MAX_LIMIT))
          .default(LIST_DEFAULT_LIMIT)
          .describe(`at most this many listeners (default ${LIST_DEFAULT_LIMIT}, at most ${LIST_MAX_LIMIT})`),
        ...scopeArgs(host),
      }),
      outputSchema: {
        listeners: z.array(listedListenerSchema()),
        count: z.number().int().describe('listeners that match, including any beyond limit'),
        more: z.boolean().describe('more listeners match than limit allowed: narrow the filters or raise limit'),
        hidden: z.number().int().describe('listeners that match but the rules hide'),
      },
      annotations: READ_ONLY,
    },
    async (args) => {
      const re = args.process === undefined ? null : regexOf(args.process);
      if (args.min_port !== undefined && args.max_port !== undefined && args.min_port > args.max_port)
        throw new PortwatchError('EUSAGE', `min_port ${args.min_port} is above max_port ${args.max_port}`);
      const scoped = inScope(args);
      const wanted = (await engine.scanNow()).filter(
        (l) =>
          scoped(l) &&
          (args.protocol === 'any' || l.protocol === args.protocol) &&
          (args.port === undefined || l.port === args.port) &&
          (args.min_port === undefined || l.port >= args.min_port) &&
          (args.max_port === undefined || l.port <= args.max_port) &&
          (re === null || (l.process !== null && (re.test(l.process.name) || re.test(l.process.command)))),
      );
      const shown = args.include_ignored ? wanted : wanted.filter(rules.filter);
      const hidden = wanted.length - shown.length;
      const listeners = shown.slice(0, args.limit).map((l) => ({
        ...compactListener(withLabel(l, rules), args.full_command),
        ...(args.include_ignored ? { ignored: rules.whyIgnored(l) } : {}),
      }));
      const more = shown.length > listeners.length;
      const summary =
        `${shown.length} listener(s)` +
        (hidden > 0 ? ` (${hidden} hidden by the rules)` : '') +
        (more ? `; showing the first ${listeners.length}: narrow with port, min_port, max_port, protocol or process, or raise limit` : '') +
        (listeners.length > 0 ? `:\n${listenerTable(listeners, host)}` : '');
      return toolResult({ listeners, count: shown.length, more, hidden }, summary);
    },
  );
}
