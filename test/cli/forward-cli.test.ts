/**
 * `portwatch forward` as a user runs it: lines and NDJSON, devcontainer attributes
 * (openBrowser through the host's xdg-open, silent), Ctrl-C closing every host port, the
 * target's exit ending the command, and usage errors as one line with exit 2.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { netnsConnectorUnavailable } from '../../src/forward/netns-connector.js';
import { runCli, startCli, type LiveCli } from '../helpers/cli.js';
import { holdSockets, netnsSupport, stopAll, waitFor } from '../helpers/processes.js';
import { httpGet, portIsFree } from '../helpers/sockets.js';

const ns = netnsSupport();
const why = !ns.ok ? ns.reason : process.getuid?.() !== 0 ? 'direct mode needs root' : netnsConnectorUnavailable();

const live: LiveCli[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const c of live.splice(0)) if (c.child.exitCode === null) c.child.kill('SIGKILL');
  await stopAll();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'portwatch-forward-'));
  dirs.push(d);
  return d;
}

describe('portwatch forward: usage', () => {
  it.each([
    [[], /say what to forward from/],
    [['--netns-pid', '1', 'http://127.0.0.1:4040'], /one of them/],
    [['--netns-pid', '1', '--map', '5173'], /invalid --map '5173'/],
    [['--netns-pid', '1', '--bind', '0.0.0.0'], /refusing to bind 0\.0\.0\.0/],
    [['--netns-pid', '1', '--udp'], /TCP only/],
    [['--netns-pid', '1', '--token', 'x'], /go with a URL/],
    [['ftp://example'], /use http:\/\/ or https:\/\//],
    [['http://user:pw@127.0.0.1:4040'], /the token goes in --token/],
    [['--netns-pid', '1', '18200'], /'18200' is not a URL: give ports with --port 18200/],
    [['--container', 'web', ':3000-3010'], /give ports with --port 3000-3010/],
  ])('portwatch forward %j → exit 2 with one line', async (args, message) => {
    const r = await runCli(['forward', ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe.skipIf(why !== null)('portwatch forward --netns-pid', () => {
  it('prints NDJSON events, reaches the port, and closes every host port on Ctrl-C', async () => {
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1', serve: 'http' }], { netns: true });
    const [port] = holder.ports as [number];
    const cli = startCli(['forward', '--netns-pid', String(holder.pid), '--json', '--no-config']);
    live.push(cli);
    await waitFor(() => cli.stdout().includes('"type":"forward"'), `a forward event (stderr: ${cli.stderr()})`);
    const event = JSON.parse(cli.stdout().split('\n')[0]!) as {
      local: { port: number }[];
      remote: { port: number };
      listener: { port: number };
    };
    expect(event.remote.port).toBe(port);
    expect(event.local[0]!.port).toBe(port);
    expect(event.listener.port).toBe(port);
    expect(await httpGet(`http://localhost:${port}/`)).toBe(`hello from ${port}`);
    cli.child.kill('SIGINT');
    expect((await cli.exited).code).toBe(0);
    expect(await portIsFree(port, '127.0.0.1')).toBe(true);
  });

  it('says when a port moved, opens the browser for openBrowser, and stays quiet for silent', async () => {
    const holder = await holdSockets(
      [
        { proto: 'tcp', host: '127.0.0.1', serve: 'http' },
        { proto: 'tcp', host: '127.0.0.1', serve: 'http' },
      ],
      { netns: true },
    );
    const [loud, quiet] = holder.ports as [number, number];
    const dir = tempDir();
    const opened = join(dir, 'opened');
    writeFileSync(join(dir, 'xdg-open'), `#!/bin/sh\necho "$@" >> '${opened}'\n`);
    chmodSync(join(dir, 'xdg-open'), 0o755);
    const config = join(dir, 'devcontainer.json');
    writeFileSync(
      config,
      JSON.stringify({ portsAttributes: { [loud]: { label: 'App', onAutoForward: 'openBrowser' }, [quiet]: { onAutoForward: 'silent' } } }),
    );
    const cli = startCli(['forward', '--netns-pid', String(holder.pid), '--config', config], { PATH: `${dir}:${process.env.PATH}` });
    live.push(cli);
    await waitFor(
      () => existsSync(opened) && readFileSync(opened, 'utf8').includes(`:${loud}/`),
      `xdg-open called (stdout: ${cli.stdout()})`,
    );
    expect(readFileSync(opened, 'utf8').trim()).toBe(`http://localhost:${loud}/`);
    expect(cli.stdout()).toContain(`portwatch: forwarding 127.0.0.1:${loud} → the netns of pid ${holder.pid} :${loud}`);
    expect(cli.stdout()).toMatch(new RegExp(`:${loud} \\S+ \\(pid ${holder.pid}\\) \\[App\\]`)); // the port's owner, by name and pid
    // The silent one is forwarded all the same, without a line.
    await waitFor(
      async () => (await httpGet(`http://127.0.0.1:${quiet}/`).catch(() => '')) === `hello from ${quiet}`,
      'the silent forward',
    );
    expect(cli.stdout()).not.toContain(`:${quiet}`);
  });

  it('ends with a message and exit 1 when the target process exits', async () => {
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1', serve: 'http' }], { netns: true });
    const cli = startCli(['forward', '--netns-pid', String(holder.pid), '--no-config']);
    live.push(cli);
    await waitFor(() => cli.stdout().includes('forwarding'), 'a forward');
    await holder.stop();
    const { code } = await cli.exited;
    expect(code).toBe(1);
    expect(cli.stderr()).toMatch(/pid \d+ is gone: process \d+ exited/);
  });
});
