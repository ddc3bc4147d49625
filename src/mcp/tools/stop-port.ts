import { constants } from 'node:os';
import { z } from 'zod';
import { PortwatchError } from '../../errors.js';
import { describeAction, freePortUsing, parseSignal, DEFAULT_GRACE_MS } from '../../free-port.js';
import type { Listener, Protocol } from '../../listener.js';
import { booleanArg, integerArg, portArg, protocolArg, toolArguments } from '../arguments.js';
import { compactListener, placeOf, short } from '../compact.js';
import type { McpEngine } from '../engine.js';
import { listenerSchema, port } from '../schemas.js';
import { describeScope, inScope, scopeArgs, type Scope } from '../scope.js';
import { toolResult, type ToolContext } from './context.js';

export const MAX_GRACE_MS = 60_000;

/** `TERM`, `SIGTERM`, `sigterm`, `15`: a signal name as the tool takes it; anything else stays as written for the enum to refuse. */
const SIGNALS = Object.keys(constants.signals) as [NodeJS.Signals, ...NodeJS.Signals[]];
const signalArg = () =>
  z.preprocess((v) => {
    if (typeof v !== 'string' && typeof v !== 'number') return v;
    try {
      return parseSignal(String(v));
    } catch {
      return v;
    }
  }, z.enum(SIGNALS));

/** A listener as the table has it (no label: stop_port answers about any listener), with every process holding it. */
const heldListenerSchema = () =>
  listenerSchema()
    .omit({ label: true })
    .extend({
      holders: z
        .array(z.object({ pid: z.number().int(), name: z.string() }))
        .optional()
        .describe('every process holding the socket (a pre-forked server: master and workers)'),
    });

const actionSchema = () =>
  z.object({
    pid: z.number().int().nullable().describe('null: the owner of these listeners is unknown'),
    name: z.string().nullable(),
    listeners: z.array(heldListenerSchema()),
    signals: z.array(z.string()).describe('signals sent, in order'),
    outcome: z.enum(['stopped', 'killed', 'survived', 'gone', 'failed', 'refused', 'would-signal']),
    reason: z.string().nullable().describe('why it was refused, failed or survived'),
    ms: z.number().int().nullable().describe('ms from the first signal until it let go of the port'),
  });

/**
 * Host mode: the port must listen in one namespace of the scope, or nowhere. A port that
 * listens in several is refused (EUSAGE), each place named, until netns or container says
 * which. Returns that one namespace (null: none), so that one made meanwhile is not signalled.
 */
async function oneNamespace(engine: McpEngine, matches: (l: Listener) => boolean, what: string, scope: Scope): Promise<string | null> {
  const found = (await engine.scanNow()).filter(matches);
  const spaces = new Set(found.map((l) => l.netns));
  if (spaces.size <= 1) return found[0]?.netns ?? null;
  const each = found.map((l) => `  ${short(l, null, true)}`).join('\n');
  const how = scope.netns === undefined ? 'name one with netns (or container)' : 'name one with netns';
  throw new PortwatchError(
    'EUSAGE',
    `${what}${describeScope(scope)} listens in ${spaces.size} network namespaces; nothing was signalled: ${how}:\n${each}`,
  );
}

export function registerStopPort({ server, engine }: ToolContext): void {
  const host = engine.allNamespaces;
  server.registerTool(
    'stop_port',
    {
      title: 'Stop the process on a port',
      description:
        'Frees a port: sends the process listening on it SIGTERM (or `signal`), waits until the socket table shows it let go, ' +
        'and sends SIGKILL after grace_ms. Use it for a stale dev server that holds a port you need; try dry_run first to see who would be signalled. ' +
        'Refuses a listener whose owner is unknown, never signals this MCP server, and signals its ancestors (your own agent) ' +
        'or pid 1 only with force. Answers about any listener, including ones the rules hide.' +
        (host ? ' Every network namespace of the host: a port that listens in several is refused until netns or container names one.' : ''),
      inputSchema: toolArguments('stop_port', {
        port: portArg().describe('the port to free'),
        protocol: protocolArg().default('tcp').describe('tcp (default), udp or any'),
        signal: signalArg().default('SIGTERM').describe('the first signal: TERM (default), INT, HUP, KILL, … or a number'),
        grace_ms: integerArg(z.number().int().min(0).max(MAX_GRACE_MS))
          .default(DEFAULT_GRACE_MS)
          .describe(`ms to wait for the process to let go before SIGKILL (default ${DEFAULT_GRACE_MS}, at most ${MAX_GRACE_MS})`),
        dry_run: booleanArg().default(false).describe('say who would be signalled; signal nothing'),
        force: booleanArg().default(false).describe("also signal pid 1 and this server's ancestors (never the server itself)"),
        ...scopeArgs(host),
      }),
      outputSchema: {
        port: port(),
        free: z.boolean().describe('nothing listens on the port any more (a dry run changes nothing)'),
        dry_run: z.boolean(),
        actions: z.array(actionSchema()),
        still_listening: z.array(heldListenerSchema()).describe('what listens on the port at the end'),
        message: z.string(),
      },
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
    async (args, extra) => {
      const proto = args.protocol === 'any' ? '' : `${args.protocol} `;
      let scoped = inScope(args);
      const where = describeScope(args);
      if (host) {
        const inArgs = scoped;
        const matches = (l: Listener): boolean =>
          l.port === args.port && (args.protocol === 'any' || l.protocol === args.protocol) && inArgs(l);
        const netns = await oneNamespace(engine, matches, `${proto}port ${args.port}`, args);
        scoped = (l) => inArgs(l) && l.netns === netns;
      }
      // Every look is narrowed to the scope (host mode: to the one namespace): what is signalled, waited for and reported.
      const result = await freePortUsing((look) => engine.follow((ls) => look(ls.filter(scoped)), { owners: true }), args.port, {
        protocol: args.protocol as Protocol | 'any', // protocolArg checked it
        killSignal: args.signal,
        grace: args.grace_ms,
        dryRun: args.dry_run,
        force: args.force,
        signal: extra.signal,
      });
      const state = result.ports[0];
      const held = result.actions.flatMap((a) => a.listeners)[0];
      // Host mode: say where, as named or as found.
      const at = where !== '' || !host || held === undefined ? where : ` in ${placeOf(held)}`;
      const lines = result.actions.map((a) => describeAction(a, { killSignal: args.signal, grace: args.grace_ms }));
      if (result.actions.length === 0) lines.push(`nothing listens on ${proto}port ${args.port}${where}`);
      else if (!args.dry_run)
        lines.push(result.free ? `${proto}port ${args.port} is free${at}` : `${proto}port ${args.port} is still taken${at}`);
      const message = lines.join('\n');
      const actions = result.actions.map((a) => ({ ...a, listeners: a.listeners.map((l) => compactListener(l, false)) }));
      const still = (state?.listeners ?? []).map((l) => compactListener(l, false));
      return toolResult({ port: args.port, free: result.free, dry_run: args.dry_run, actions, still_listening: still, message }, message);
    },
  );
}
