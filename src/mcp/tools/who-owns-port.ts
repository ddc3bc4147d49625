import { readlinkSync } from 'node:fs';
import { z } from 'zod';
import { withLabel } from '../../rules/labelled.js';
import { portArg, protocolArg, toolArguments } from '../arguments.js';
import { short, visible } from '../compact.js';
import { ownedListenerSchema, port } from '../schemas.js';
import { describeScope, inScope, scopeArgs } from '../scope.js';
import { READ_ONLY, toolResult, type ToolContext } from './context.js';

function cwdOf(pid: number): string | null {
  try {
    return readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return null;
  }
}

export function registerWhoOwnsPort({ server, engine, rules }: ToolContext): void {
  const host = engine.allNamespaces;
  server.registerTool(
    'who_owns_port',
    {
      title: 'Who owns a port',
      description:
        'The process listening on a port: pid, name, whole command line and working directory (when readable), on every address and protocol. ' +
        'Answers about any listener, including ones the rules hide (then "ignored" says why).' +
        (host ? ' Every network namespace of the host: the port may listen in several, each listed with its netns and container.' : ''),
      inputSchema: toolArguments('who_owns_port', {
        port: portArg().describe('the port to look up'),
        protocol: protocolArg().default('any').describe('tcp, udp or any (default)'),
        ...scopeArgs(host),
      }),
      outputSchema: { port: port(), found: z.boolean(), listeners: z.array(ownedListenerSchema()), message: z.string() },
      annotations: READ_ONLY,
    },
    async (args) => {
      const scoped = inScope(args);
      const found = (await engine.scanNow()).filter(
        (l) => l.port === args.port && (args.protocol === 'any' || l.protocol === args.protocol) && scoped(l),
      );
      const listeners = found.map((l) => ({
        ...withLabel(l, rules),
        process: l.process === null ? null : { ...l.process, cwd: cwdOf(l.process.pid) },
        ignored: rules.whyIgnored(l),
      }));
      // A server on 0.0.0.0 and :: is one process: its command line once.
      const told = new Set<number>();
      const lines = listeners.map((l) => {
        const p = l.process;
        if (p === null || told.has(p.pid)) return short(l, l.label, host);
        told.add(p.pid);
        return `${short(l, l.label, host)}: ${visible(p.command)}${p.cwd ? ` (in ${visible(p.cwd)})` : ''}`;
      });
      const message =
        listeners.length === 0
          ? `nothing is listening on ${args.protocol === 'any' ? '' : `${args.protocol} `}port ${args.port}${describeScope(args)}`
          : lines.join('\n');
      return toolResult({ port: args.port, found: listeners.length > 0, listeners, message }, message);
    },
  );
}
