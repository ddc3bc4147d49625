import { z } from 'zod';
import { PortwatchError } from '../../errors.js';
import { booleanArg, integerArg, toolArguments } from '../arguments.js';
import { compactListener, short } from '../compact.js';
import { portEventSchema } from '../schemas.js';
import { READ_ONLY, toolResult, type ToolContext } from './context.js';

export const MAX_EVENT_WAIT_MS = 60_000;

/** `cursor` is what the tool returns, so a model passes it back under that name too. */
function cursorOf(args: { since?: string | undefined; cursor?: string | undefined }): string | undefined {
  if (args.since !== undefined && args.cursor !== undefined && args.since !== args.cursor)
    throw new PortwatchError('EUSAGE', `since '${args.since}' and cursor '${args.cursor}' differ: pass one of them`);
  return args.since ?? args.cursor;
}

export function registerGetPortEvents({ server, engine, events }: ToolContext): void {
  const host = engine.allNamespaces;
  server.registerTool(
    'get_port_events',
    {
      title: 'Port events since a cursor',
      description:
        'Ports opened and closed since `since` (a cursor from a previous call; without one, every event since the server started). ' +
        'Pass back the returned cursor next time (as `since`, or as `cursor`). With wait_ms, waits up to that long for the next event when there is none yet. ' +
        'Ports listening when the server started are initial state, never events. Ignored and silent ports are left out.' +
        (host ? ' Every network namespace of the host: each listener says its netns and container.' : ''),
      inputSchema: toolArguments('get_port_events', {
        since: z.string().optional().describe('the cursor returned by the previous call'),
        cursor: z.string().optional().describe('the same as since'),
        wait_ms: integerArg(z.number().int().min(0).max(MAX_EVENT_WAIT_MS))
          .default(0)
          .describe(`wait up to this long for an event (default 0, at most ${MAX_EVENT_WAIT_MS})`),
        limit: integerArg(z.number().int().min(1).max(1000)).default(100).describe('at most this many events (default 100, at most 1000)'),
        full_command: booleanArg().default(false).describe('whole command lines instead of their first 200 characters'),
      }),
      outputSchema: {
        events: z.array(portEventSchema()),
        cursor: z.string().describe('pass this back as `since` (or `cursor`)'),
        missed: z.number().int().describe('events no longer kept that you did not get'),
        reset: z.boolean().describe('the cursor was from an earlier server: reading started over'),
        more: z.boolean().describe('more events are waiting: call again at once'),
      },
      annotations: { ...READ_ONLY, idempotentHint: false },
    },
    async (args, extra) => {
      const since = cursorOf(args);
      if (since !== undefined) events.parseCursor(since); // a malformed cursor is an error before any wait
      await engine.watcher.whenReady().catch(() => {});
      await events.waitForNews(since, args.wait_ms, extra.signal);
      const r = events.read(since, args.limit);
      const shown = r.events.map((e) => ({ ...e, listener: compactListener(e.listener, args.full_command) }));
      const lines = shown.map((e) => `${e.time} ${e.type === 'open' ? '+' : '-'} ${short(e.listener, e.listener.label, host)}`);
      const summary =
        `${r.events.length} event(s)${r.more ? ' (more waiting)' : ''}${r.missed > 0 ? `, ${r.missed} missed` : ''}${r.reset ? ', cursor reset' : ''}; cursor ${r.cursor}` +
        (lines.length > 0 ? `:\n${lines.join('\n')}` : '');
      return toolResult({ ...r, events: shown }, summary);
    },
  );
}
