/**
 * The `process` argument of list_listening_ports comes from an agent: through the real
 * `portwatch mcp` over stdio, a pattern that backtracks for minutes in a JavaScript RegExp
 * answers at once, and one RE2 cannot take is a tool error saying why.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { call, callError, closeMcp, connectStdio, type ListenerJson } from '../helpers/mcp-client.js';
import { holdPathological, stopPathological } from '../helpers/pathological-command.js';

afterEach(async () => {
  await closeMcp(); // ends the server by its pid, escalating to SIGKILL
  await stopPathological();
});

describe('list_listening_ports: process is matched in linear time', () => {
  it('(\\w+\\s?)+! on a long command line answers, and the server goes on answering', async () => {
    const { pid, port } = await holdPathological();
    const client = await connectStdio(['--no-config']);
    // A plain call first: what a scan costs right now on this machine.
    let start = performance.now();
    await call(client, 'list_listening_ports', { process: 'python3' });
    const baseline = performance.now() - start;

    start = performance.now();
    const listed = await call(client, 'list_listening_ports', { process: '(\\w+\\s?)+!' });
    // Minutes before; a generous margin over the baseline for a loaded machine.
    expect(performance.now() - start - baseline).toBeLessThan(3_000);
    expect((listed.listeners as ListenerJson[]).filter((l) => l.process?.pid === pid).map((l) => l.port)).toEqual([port]);

    const none = await call(client, 'list_listening_ports', { process: '(a+)+$' });
    expect((none.listeners as ListenerJson[]).some((l) => l.process?.pid === pid)).toBe(false);
  });

  it('a backreference is a tool error naming the pattern and the reason', async () => {
    const client = await connectStdio(['--no-config']);
    expect(await callError(client, 'list_listening_ports', { process: '(a)\\1' })).toMatch(
      /invalid regular expression '\(a\)\\1': backreferences like \\1 are not supported \(portwatch matches patterns with RE2 syntax, in linear time\)/,
    );
  });
});
