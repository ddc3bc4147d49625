/**
 * `-A` / `--all-namespaces` and `--container` on list and watch, as users run them: usage
 * errors in one line (exit 2), and real namespaces made here (`unshare --net` holders).
 */
import { readlinkSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { Listener } from '../../src/listener.js';
import { runCli, startCli, type LiveCli } from '../helpers/cli.js';
import { holdSockets, netnsSupport, stopAll, waitFor } from '../helpers/processes.js';

const support = netnsSupport();
const isRoot = process.getuid?.() === 0;
const live: LiveCli[] = [];

afterEach(async () => {
  for (const c of live.splice(0)) {
    if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
    await c.exited;
  }
  await stopAll();
});

function netnsOfPid(pid: number): string {
  return /^net:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/ns/net`))![1]!;
}

describe('-A and --container: what cannot go together', () => {
  const cases: [string[], RegExp][] = [
    [['list', '-A', '--netns-pid', String(process.pid)], /^portwatch: -A\/--all-namespaces and --netns-pid cannot be combined/],
    [
      ['watch', '--all-namespaces', '--netns-pid', String(process.pid)],
      /^portwatch: -A\/--all-namespaces and --netns-pid cannot be combined/,
    ],
    [['list', '--container', 'web', '--netns-pid', String(process.pid)], /^portwatch: --container and --netns-pid cannot be combined/],
    [['list', '-A', '--source', 'ss'], /^portwatch: -A\/--all-namespaces reads namespaces with sockdiag or procfs, not ss/],
    [['watch', '-A', '--interval', '1s'], /^portwatch: --interval cannot be used with -A/],
    [['list', '--container', ' '], /^portwatch: --container needs a name or an id/],
  ];
  for (const [args, message] of cases) {
    it(`${args.join(' ')}: exit 2, one line`, async () => {
      const r = await runCli(args);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    });
  }
});

describe.skipIf(!support.ok || !isRoot)('-A on namespaces made here', () => {
  it('list -A --json: listeners of other namespaces, each with its netns; the table has a NETNS column', async () => {
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }], { netns: true });
    const netns = netnsOfPid(holder.pid);
    const r = await runCli(['list', '-A', '--json']);
    expect(r.code).toBe(0);
    const mine = (JSON.parse(r.stdout) as Listener[]).filter((l) => l.netns === netns);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ protocol: 'tcp', address: '127.0.0.1', port: holder.ports[0], container: null });
    expect(mine[0]!.process?.pid).toBe(holder.pid);
    const table = await runCli(['list', '-A', String(holder.ports[0])]);
    expect(table.stdout.split('\n')[0]).toMatch(/^NETNS\s+PROTO\s+ADDRESS:PORT/);
    expect(table.stdout).toContain(`${netns}  tcp    127.0.0.1:${holder.ports[0]}`);
    // Without -A, our own namespace only.
    const own = await runCli(['list', '--json', String(holder.ports[0])]);
    expect((JSON.parse(own.stdout) as Listener[]).filter((l) => l.netns === netns)).toEqual([]);
  });

  it('watch -A --json: namespace-open, then its listener; close, then namespace-close', { timeout: 30_000 }, async () => {
    const w = startCli(['watch', '-A', '--json', '--trigger', 'poll']);
    live.push(w);
    await waitFor(() => w.stderr().includes('watching'), 'watch -A to start');
    const holder = await holdSockets([{ proto: 'udp', host: '127.0.0.1' }], { netns: true });
    const netns = netnsOfPid(holder.pid);
    const lines = (): Record<string, unknown>[] =>
      w
        .stdout()
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((e) => e.netns === netns || (e.listener as Listener | undefined)?.netns === netns);
    await waitFor(() => lines().some((e) => e.type === 'open'), 'the open event');
    await holder.stop();
    await waitFor(() => lines().some((e) => e.type === 'namespace-close'), 'namespace-close', 15_000);
    const seen = lines().map((e) => e.type);
    expect(seen).toEqual(['namespace-open', 'open', 'close', 'namespace-close']);
    const open = lines()[1]!;
    expect(open.listener).toMatchObject({ protocol: 'udp', port: holder.ports[0], netns, container: null });
    expect(lines()[0]).toMatchObject({ type: 'namespace-open', netns, container: null });
    expect(typeof lines()[0]!.time).toBe('string');
  });
});
