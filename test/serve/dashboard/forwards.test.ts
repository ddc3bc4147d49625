/**
 * The live page under `portwatch forward --netns-pid PID --serve`: each forwarded row says
 * where the port is reachable on this host (a link once the probe through the forward found
 * HTTP), a port taken here is marked "moved from <port>", and the marks follow the target
 * live. In a real headless browser (skipped without /usr/bin/chromium unless
 * PORTWATCH_REQUIRE_BROWSER=1), against the built CLI in a namespace made with unshare.
 */
import { createServer, type AddressInfo, type Server } from 'node:net';
import type { Page } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { netnsConnectorUnavailable } from '../../../src/forward/netns-connector.js';
import { browserAvailable, launchBrowser, type Browser } from '../../helpers/browser.js';
import { startCli, type LiveCli } from '../../helpers/cli.js';
import { holdSockets, netnsSupport, stopAll, waitFor } from '../../helpers/processes.js';
import { httpGet } from '../../helpers/sockets.js';

const ns = netnsSupport();
const why = !ns.ok ? ns.reason : process.getuid?.() !== 0 ? 'direct mode needs root' : netnsConnectorUnavailable();

let opened: Browser | null = null;
const live: LiveCli[] = [];
const hostServers: Server[] = [];
afterEach(async () => {
  await opened?.close();
  opened = null;
  for (const c of live.splice(0)) if (c.child.exitCode === null) c.child.kill('SIGKILL');
  await stopAll();
  for (const s of hostServers.splice(0)) await new Promise<void>((r) => s.close(() => r()));
});

async function takenHere(): Promise<number> {
  const s = createServer((c) => c.destroy());
  hostServers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return (s.address() as AddressInfo).port;
}

const row = (page: Page, port: number) => page.locator(`tr[data-protocol="tcp"][data-port="${port}"]`);

describe.skipIf(why !== null)('the page of forward --serve', () => {
  it('shows where each forwarded port is reachable here, and marks the one that moved', async (ctx) => {
    if (!browserAvailable(ctx)) return;
    const taken = await takenHere();
    const holder = await holdSockets(
      [
        { proto: 'tcp', host: '127.0.0.1', serve: 'http' },
        { proto: 'tcp', host: '127.0.0.1', port: taken, serve: 'http' },
      ],
      { netns: true },
    );
    const [free] = holder.ports as [number];
    const cli = startCli(['forward', '--netns-pid', String(holder.pid), '--serve', '127.0.0.1:0', '--no-config']);
    live.push(cli);
    const url = (await waitFor(() => /serving (http:\/\/\S+)/.exec(cli.stderr()), `serve's URL (${cli.stderr()})`))[1]!;

    opened = await launchBrowser();
    const page = await opened.context.newPage();
    await page.goto(url);
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });

    // Same port here: the host address, a link once the probe through the forward found HTTP.
    const link = row(page, free).locator('a.forward-link');
    await link.waitFor({ timeout: 10_000 });
    expect(await link.textContent()).toBe(`127.0.0.1:${free}`);
    expect(await link.getAttribute('href')).toBe(`http://localhost:${free}/`);
    expect(await row(page, free).locator('.badge.moved').count()).toBe(0);
    expect(await page.locator('th.col-open').textContent()).toBe('On this host');

    // Taken here: another host port, and a visible mark that says from which.
    const mark = row(page, taken).locator('.badge.moved');
    await mark.waitFor({ timeout: 10_000 });
    expect(await mark.textContent()).toBe(`moved from ${taken}`);
    expect(await mark.isVisible()).toBe(true);
    expect(await mark.getAttribute('title')).toBe(`${taken} is taken here`);
    const movedTo = Number((await row(page, taken).getAttribute('data-forward'))!.split(':').pop());
    expect(movedTo).not.toBe(taken);
    await row(page, taken).locator('a.forward-link').waitFor({ timeout: 10_000 });
    expect(await row(page, taken).locator('a.forward-link').textContent()).toBe(`127.0.0.1:${movedTo}`);
    expect(await httpGet(`http://127.0.0.1:${movedTo}/`)).toBe(`hello from ${taken}`);

    // Live: a port that opens later gets its mark; one that closes loses its row and says so.
    const later = await holder.open({ proto: 'tcp', host: '127.0.0.1' });
    await row(page, later.port).locator('.forward code.forward-addr, .forward a.forward-link').waitFor({ timeout: 10_000 });
    await holder.close(0);
    await page.locator(`tr[data-port="${free}"][data-state="closed"]`).waitFor({ timeout: 10_000 });
    await page
      .locator('#events li[data-type="unforward"]', { hasText: `:${free} no longer forwarded (closed)` })
      .waitFor({ timeout: 10_000 });
    expect(await page.locator('#events li[data-type="forward"]', { hasText: `:${later.port} forwarded to 127.0.0.1:` }).count()).toBe(1);
  });
});
