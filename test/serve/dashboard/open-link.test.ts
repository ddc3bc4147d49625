/**
 * The live page's "open" link: on every TCP listener serve can reach, whether or not the
 * probe found HTTP; never on UDP, never with --no-proxy, never into a network namespace
 * serve cannot reach. In a real headless browser (skipped without /usr/bin/chromium unless
 * PORTWATCH_REQUIRE_BROWSER=1).
 */
import type { Page } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { browserAvailable, launchBrowser, type Browser } from '../../helpers/browser.js';
import { holdSockets, netnsSupport, stopAll } from '../../helpers/processes.js';
import { closeAll, startServe } from '../helpers.js';

let opened: Browser | null = null;
afterEach(async () => {
  await opened?.close();
  opened = null;
  await closeAll();
  await stopAll();
});

async function pageOf(url: string): Promise<Page> {
  opened = await launchBrowser();
  const page = await opened.context.newPage();
  await page.goto(url);
  await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
  return page;
}

const row = (page: Page, protocol: string, port: number) => page.locator(`tr[data-protocol="${protocol}"][data-port="${port}"]`);

describe('the open link', () => {
  it('is on every TCP row serve reaches, probed as HTTP or not, and on rows opened later; never on UDP', async (ctx) => {
    if (!browserAvailable(ctx)) return;
    const holder = await holdSockets([
      { proto: 'tcp', host: '127.0.0.1' },
      { proto: 'udp', host: '127.0.0.1' },
    ]);
    const server = await startServe({ filter: (l) => l.process?.pid === holder.pid, probe: false });
    const page = await pageOf(server.url);
    const [tcp, udp] = holder.ports as [number, number];
    const link = row(page, 'tcp', tcp).locator('a.open');
    await link.waitFor({ timeout: 5_000 });
    expect(await link.getAttribute('href')).toBe(`/open/${tcp}`);
    expect(await row(page, 'tcp', tcp).locator('.col-open .badge').count()).toBe(0); // no probe, no http badge
    await row(page, 'udp', udp).waitFor({ timeout: 5_000 });
    expect(await row(page, 'udp', udp).locator('a.open').count()).toBe(0);

    const later = await holder.open({ proto: 'tcp', host: '::1' });
    await row(page, 'tcp', later.port).locator('a.open').waitFor({ timeout: 5_000 });
  });

  it('is nowhere with the proxy turned off', async (ctx) => {
    if (!browserAvailable(ctx)) return;
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
    const server = await startServe({ filter: (l) => l.process?.pid === holder.pid, probe: false, proxy: false });
    const page = await pageOf(server.url);
    await row(page, 'tcp', holder.ports[0] as number).waitFor({ timeout: 5_000 });
    const later = await holder.open({ proto: 'tcp', host: '127.0.0.1' });
    await row(page, 'tcp', later.port).waitFor({ timeout: 5_000 });
    expect(await page.locator('a.open').count()).toBe(0);
  });

  it('is not on listeners of another network namespace (--netns-pid), which the proxy cannot reach', async (ctx) => {
    if (!browserAvailable(ctx)) return;
    const support = netnsSupport();
    if (!support.ok) {
      console.warn(`skipped: ${support.reason}`);
      ctx.skip();
      return;
    }
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }], { netns: true });
    const server = await startServe({ probe: false, watchOptions: { netnsPid: holder.pid, interval: 50 } });
    const page = await pageOf(server.url);
    await row(page, 'tcp', holder.ports[0] as number).waitFor({ timeout: 5_000 });
    expect(await page.locator('a.open').count()).toBe(0);
  });
});
