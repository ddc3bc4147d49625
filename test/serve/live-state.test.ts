/**
 * serve's live state follows the watcher's `update`: a listener whose owner was found after
 * serve announced it (a long first owner search, a server that started during it) is
 * replaced in /api/ports and sent as `event: update` on the stream, which the page applies.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createServeServer } from '../../src/serve/server.js';
import { handTrigger, heldFirstSearch, withOwnerSearch } from '../helpers/late-owners.js';
import { holdSockets, stopAll } from '../helpers/processes.js';
import { closeAll, httpGet, SseClient } from './helpers.js';

afterEach(async () => {
  await closeAll();
  await stopAll();
});

describe('serve and owners found late', () => {
  it('lists at once a server that started during the first owner search, then fills in the owners', async () => {
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
    const first = holder.ports[0] as number;
    const ports = new Set([first]);
    const search = heldFirstSearch();
    const hand = handTrigger();
    const server = createServeServer({
      host: '127.0.0.1',
      port: 0,
      processMetrics: false,
      probe: false,
      filter: (l) => l.address === '127.0.0.1' && ports.has(l.port),
      watchOptions: { trigger: hand.trigger, interval: 60_000 },
    });
    await withOwnerSearch(search.owners, () => server.listen());
    try {
      await search.started;
      const { port } = await holder.open({ proto: 'tcp', host: '127.0.0.1' });
      ports.add(port);
      hand.hint({ kind: 'listen', port, tid: holder.pid });
      await server.ready();
      const sse = new SseClient(server.port, '/api/events?since=0'); // from the first event on
      await sse.opened;
      await sse.until((c) => c.events().find((e) => e.type === 'open' && e.port === port), 'the open of the new server');
      const before = JSON.parse((await httpGet(server.port, '/api/listeners')).body) as { port: number; process: { pid: number } | null }[];
      expect(before.map((l) => [l.port, l.process?.pid ?? null])).toEqual(
        [
          [first, null],
          [port, holder.pid],
        ].sort((a, b) => (a[0] as number) - (b[0] as number)),
      );

      search.release();
      const update = (await sse.until(
        (c) => c.named('update').find((v) => (v as { port: number }).port === first),
        'the update with the first owner',
      )) as { port: number; process: { pid: number } | null; seenAtStart: boolean };
      expect(update.process?.pid).toBe(holder.pid);
      expect(update.seenAtStart).toBe(true);
      const after = JSON.parse((await httpGet(server.port, '/api/listeners')).body) as { port: number; process: { pid: number } | null }[];
      expect(after.find((l) => l.port === first)?.process?.pid).toBe(holder.pid);
    } finally {
      await server.close();
    }
  });
});
