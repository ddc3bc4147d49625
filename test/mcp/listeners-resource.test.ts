import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { LISTENERS_URI } from '../../src/mcp/listeners-resource.js';
import { handTrigger, heldFirstSearch, withOwnerSearch } from '../helpers/late-owners.js';
import { call, closeMcp, connectInMemory, type ListenerJson } from '../helpers/mcp-client.js';
import { holdSockets, netnsSupport, stopAll, waitFor } from '../helpers/processes.js';

afterEach(async () => {
  await closeMcp();
  await stopAll();
});

async function readListeners(client: Client): Promise<{ listeners: ListenerJson[]; count: number }> {
  const r = await client.readResource({ uri: LISTENERS_URI });
  expect(r.contents).toHaveLength(1);
  expect(r.contents[0]).toMatchObject({ uri: LISTENERS_URI, mimeType: 'application/json' });
  return JSON.parse((r.contents[0] as { text: string }).text) as { listeners: ListenerJson[]; count: number };
}

/** Counts `notifications/resources/updated` for the listeners resource. */
function countUpdates(client: Client): () => number {
  let n = 0;
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (note) => {
    if (note.params.uri === LISTENERS_URI) n++;
  });
  return () => n;
}

/** Waits until the server's watcher has seen `port` open or close, through get_port_events. */
async function watcherSaw(client: Client, cursor: string, type: 'open' | 'close', port: number): Promise<string> {
  for (let i = 0; i < 50; i++) {
    const r = await call(client, 'get_port_events', { since: cursor, wait_ms: 10_000 });
    cursor = r.cursor as string;
    if ((r.events as { type: string; listener: ListenerJson }[]).some((e) => e.type === type && e.listener.port === port)) return cursor;
  }
  throw new Error(`the watcher never reported ${type} of port ${port}`);
}

describe('resource portwatch://listeners', () => {
  it('is listed, readable as JSON, and can be subscribed to', async () => {
    const holder = await holdSockets([{ proto: 'udp', host: '127.0.0.1' }]);
    const { client } = await connectInMemory();
    expect(client.getServerCapabilities()?.resources).toMatchObject({ subscribe: true });
    const { resources } = await client.listResources();
    expect(resources).toContainEqual(expect.objectContaining({ uri: LISTENERS_URI, mimeType: 'application/json' }));
    const now = await readListeners(client);
    expect(now.count).toBe(now.listeners.length);
    expect(now.listeners.find((l) => l.port === holder.ports[0])).toMatchObject({
      protocol: 'udp',
      address: '127.0.0.1',
      process: { pid: holder.pid, name: 'python3' },
      label: null,
    });
    await expect(client.subscribeResource({ uri: 'portwatch://nothing' })).rejects.toThrow(/unknown resource 'portwatch:\/\/nothing'/);
  });

  it('tells a subscribed client when a listener opens and when it closes', async () => {
    const holder = await holdSockets([]);
    const { client } = await connectInMemory();
    const updates = countUpdates(client);
    let cursor = (await call(client, 'get_port_events', {})).cursor as string;
    await client.subscribeResource({ uri: LISTENERS_URI });

    const { index, port } = await holder.open({ proto: 'tcp', host: '127.0.0.1' });
    await waitFor(() => updates() >= 1, 'an updated notification after the open');
    await waitFor(async () => (await readListeners(client)).listeners.some((l) => l.port === port), `port ${port} in the resource`);
    cursor = await watcherSaw(client, cursor, 'open', port);

    const before = updates();
    await holder.close(index);
    await waitFor(() => updates() > before, 'an updated notification after the close');
    expect((await readListeners(client)).listeners.some((l) => l.port === port)).toBe(false);
    await watcherSaw(client, cursor, 'close', port);
  });

  it('tells a subscribed client when a listed listener’s owner is found late (a long first owner search)', async (ctx) => {
    // In a namespace of its own, so that no other test's socket sends a notification.
    const support = netnsSupport();
    if (!support.ok) {
      if (process.env.PORTWATCH_REQUIRE_ROOT) throw new Error(support.reason);
      console.warn(`skipped "${ctx.task.name}": ${support.reason}`);
      return ctx.skip(support.reason);
    }
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }], { netns: true });
    const first = holder.ports[0] as number;
    const search = heldFirstSearch();
    const hand = handTrigger();
    const { client } = await withOwnerSearch(search.owners, () =>
      connectInMemory({ scan: { trigger: hand.trigger, netnsPid: holder.pid } }),
    );
    const updates = countUpdates(client);
    await client.subscribeResource({ uri: LISTENERS_URI });
    await search.started;
    const { port } = await holder.open({ proto: 'tcp', host: '127.0.0.1' });
    hand.hint({ kind: 'listen', port, tid: holder.pid }); // the first scan goes on without its owners
    await waitFor(() => updates() === 1, 'the notification of the open');
    // A read answers with owners only: it waits for the search that goes on.
    let read: { listeners: ListenerJson[] } | null = null;
    void readListeners(client).then((r) => (read = r));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(read).toBeNull();
    search.release();
    await waitFor(() => updates() === 2, 'an updated notification once the owners are found');
    const owners = (await waitFor(() => read, 'the read')).listeners.map((l) => [l.port, l.process?.pid ?? null]);
    expect(owners.sort()).toEqual(
      [
        [first, holder.pid],
        [port, holder.pid],
      ].sort(),
    );
  });

  it('sends nothing to a client that did not subscribe, or unsubscribed', async () => {
    const holder = await holdSockets([]);
    const { client } = await connectInMemory();
    const updates = countUpdates(client);
    let cursor = (await call(client, 'get_port_events', {})).cursor as string;
    const first = await holder.open({ proto: 'tcp', host: '127.0.0.1' });
    cursor = await watcherSaw(client, cursor, 'open', first.port); // the change has been seen: any notification was sent
    expect(updates()).toBe(0);

    await client.subscribeResource({ uri: LISTENERS_URI });
    await client.unsubscribeResource({ uri: LISTENERS_URI });
    const second = await holder.open({ proto: 'tcp', host: '127.0.0.1' });
    await watcherSaw(client, cursor, 'open', second.port);
    expect(updates()).toBe(0);
  });
});
