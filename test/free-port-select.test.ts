/**
 * freePort() attributes only the sockets on the ports it frees: on a host with other
 * listeners its scans walk /proc for no other owner, and the owner of the port is still the
 * one signalled. Real processes; walks observed through the watcher's ticks (`onTick`).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../src/free-port.js';
import type { TickEvent } from '../src/watch/watch-types.js';
import { holdSockets, stopAll } from './helpers/processes.js';
import { unusedPort } from './helpers/sockets.js';

afterEach(stopAll);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('freePort select', () => {
  it('walks /proc for no owner on another port, and still signals the owner of the port', async () => {
    const other = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]); // another process's listener
    const port = await unusedPort();
    const ticks: TickEvent[] = [];
    const onTick = (t: TickEvent): number => ticks.push(t);
    expect(await freePort(port, { trigger: 'poll', onTick })).toEqual({
      free: true,
      ports: [{ port, free: true, listeners: [] }],
      actions: [],
    });
    expect(ticks.length).toBeGreaterThan(0);
    expect(ticks.map((t) => t.walks)).toEqual(ticks.map(() => 0));
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1', port }]);
    const result = await freePort(port, { trigger: 'poll', grace: 10_000 });
    expect(result.free).toBe(true);
    expect(result.actions).toMatchObject([{ pid: holder.pid, name: 'python3', outcome: 'stopped' }]);
    expect(alive(other.pid)).toBe(true);
  });
});
