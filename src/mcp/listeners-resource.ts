/**
 * The listeners as an MCP resource, `portwatch://listeners`, so that agents need not poll:
 * a client that subscribes is sent `notifications/resources/updated` whenever a listener
 * the rules let through opens or closes, and reads the resource again for the new list.
 */
import { McpError, ErrorCode, SubscribeRequestSchema, UnsubscribeRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { withLabel } from '../rules/labelled.js';
import type { ChangeEvent, UpdateEvent } from '../watch/watcher.js';
import { compactListener } from './compact.js';
import type { ToolContext } from './tools/context.js';

export const LISTENERS_URI = 'portwatch://listeners';

/** Registers the resource and its subscriptions (before connect); returns what stops the updates. */
export function registerListenersResource({ server, engine, rules }: ToolContext): () => void {
  server.registerResource(
    'listeners',
    LISTENERS_URI,
    {
      title: 'Listening ports',
      description:
        'The TCP and UDP ports listening now, as JSON {listeners, count}: the same listeners as list_listening_ports with no filter ' +
        '(commands cut at 200 characters). Subscribe to be told when one opens or closes.',
      mimeType: 'application/json',
    },
    async (uri) => {
      const listeners = (await engine.scanNow()).filter(rules.filter).map((l) => compactListener(withLabel(l, rules), false));
      return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify({ listeners, count: listeners.length }) }] };
    },
  );

  const low = server.server;
  low.registerCapabilities({ resources: { subscribe: true } });
  let subscribed = false;
  const known = (uri: string): void => {
    if (uri !== LISTENERS_URI) throw new McpError(ErrorCode.InvalidParams, `unknown resource '${uri}' (there is ${LISTENERS_URI})`);
  };
  low.setRequestHandler(SubscribeRequestSchema, (request) => {
    known(request.params.uri);
    subscribed = true;
    return {};
  });
  low.setRequestHandler(UnsubscribeRequestSchema, (request) => {
    known(request.params.uri);
    subscribed = false;
    return {};
  });

  // One notification per scan that changed what the rules let through, however many listeners it touched.
  const onChange = (change: ChangeEvent): void => {
    if (!subscribed || ![...change.opened, ...change.closed].some(rules.filter)) return;
    low.sendResourceUpdated({ uri: LISTENERS_URI }).catch(() => {}); // the client is gone: nothing to tell
  };
  // A listener's owner found after it was announced: what the resource reads has changed too.
  const onUpdate = (update: UpdateEvent): void => {
    if (!subscribed || !rules.filter(update.listener)) return;
    low.sendResourceUpdated({ uri: LISTENERS_URI }).catch(() => {});
  };
  engine.watcher.on('change', onChange);
  engine.watcher.on('update', onUpdate);
  return () => {
    engine.watcher.off('change', onChange);
    engine.watcher.off('update', onUpdate);
  };
}
