/**
 * The live page in a real headless browser (Debian's chromium driven by playwright-core).
 * Without /usr/bin/chromium the test is skipped with the reason printed, unless
 * PORTWATCH_REQUIRE_BROWSER=1 (CI), when it fails.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';
import type { BrowserContext, Page } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { DASHBOARD_JS } from '../../../src/serve/dashboard/client.js';
import { browserAvailable, launchBrowser, type Browser, type Device } from '../../helpers/browser.js';
import { holdSockets, stopAll, waitFor } from '../../helpers/processes.js';
import { closeAll, startServe } from '../helpers.js';
import { portIsFree } from '../../helpers/sockets.js';

const OUTPUT = fileURLToPath(new URL('../../../test-output/', import.meta.url));

let opened: Browser | null = null;
const apps: Server[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.exitCode !== null || c.signalCode !== null || c.pid === undefined) continue;
    const exited = new Promise((r) => c.once('exit', r));
    process.kill(c.pid, 'SIGTERM');
    await exited;
  }
  await opened?.close();
  opened = null;
  for (const s of apps.splice(0)) {
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
  await closeAll();
  await stopAll();
});

/** A browser with a fresh profile, closed after the test. */
async function launch(device?: Device): Promise<BrowserContext> {
  opened = await launchBrowser(device);
  return opened.context;
}

async function htmlApp(title: string): Promise<number> {
  const s = createServer((_req, res) =>
    res.writeHead(200, { 'Content-Type': 'text/html' }).end(`<!doctype html><title>${title}</title><h1>${title}</h1>`),
  );
  apps.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return (s.address() as AddressInfo).port;
}

const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };

/**
 * A Node process that, on a line on stdin, opens 100 TCP listeners on consecutive ports of
 * 127.0.0.1 as fast as it can, and prints {"base": first port}. Stopped by its pid after the test.
 */
async function burstProcess(): Promise<{ pid: number; name: string; burst: () => Promise<number> }> {
  const script = `
    const net = require('node:net');
    setTimeout(() => process.exit(3), 120000);
    const listen = (port) => new Promise((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(null));
      s.listen(port, '127.0.0.1', () => resolve(s));
    });
    // The parent chose the ports: a retry here would show up as extra opens and closes.
    async function burst(base) {
      const held = [];
      for (let p = base; p < base + 100; p++) {
        const s = await listen(p);
        if (!s) break;
        held.push(s);
      }
      if (held.length === 100) return console.log(JSON.stringify({ base }));
      console.log(JSON.stringify({ error: 'port ' + (base + held.length) + ' was taken between the check and the listen' }));
    }
    process.stdin.once('data', (d) => burst(Number(String(d).trim())));
    console.log(JSON.stringify({ pid: process.pid }));`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  const lines: string[] = [];
  let buffered = '';
  child.stdout?.on('data', (d: Buffer) => {
    buffered += d.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    lines.push(...parts.filter((l) => l !== ''));
  });
  const next = async (): Promise<Record<string, unknown>> => {
    const line = await waitFor(() => lines.shift(), 'a line from the burst process');
    return JSON.parse(line) as Record<string, unknown>;
  };
  const { pid } = (await next()) as { pid: number };
  const name = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  return {
    pid,
    name,
    burst: async () => {
      child.stdin?.write(`${await freeRange(100)}\n`);
      const reply = await next();
      if (typeof reply.base !== 'number') throw new Error(`burst process: ${JSON.stringify(reply)}`);
      return reply.base;
    },
  };
}

/**
 * A base port with `count` free ports after it, checked from this process (which the page's
 * filter leaves out), below the kernel's ephemeral range so that no connection takes one.
 */
async function freeRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20000 + Math.floor(Math.random() * (32768 - 20000 - count));
    let free = true;
    for (let p = base; p < base + count && free; p++) free = await portIsFree(p, '127.0.0.1');
    if (free) return base;
  }
  throw new Error(`no ${count} free consecutive ports in 50 tries`);
}

/** Collects what would show a broken page: script errors, console errors (CSP violations), requests to other origins. */
function watchPage(page: Page, origin: string): { problems: string[] } {
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  page.on('request', (r) => {
    const url = r.url();
    if (!url.startsWith(origin) && !url.startsWith('data:')) problems.push(`request to another origin: ${url}`);
  });
  return { problems };
}

describe('the live page', () => {
  it('is valid JavaScript for the browser', () => {
    expect(() => new Script(DASHBOARD_JS, { filename: 'app.js' })).not.toThrow();
  });

  it('shows a listener opened after load within a second, its HTTP link, its close, and filters', async (ctx) => {
    if (!browserAvailable(ctx)) return;
    mkdirSync(OUTPUT, { recursive: true });
    const holder = await holdSockets([{ proto: 'udp', host: '127.0.0.1' }]);
    const appPorts = new Set<number>();
    const server = await startServe({
      filter: (l) => l.process?.pid === holder.pid || appPorts.has(l.port),
      watchOptions: { interval: 50 },
    });
    const origin = server.url.replace(/\/$/, '');
    const browser = await launch();
    const page = await browser.newPage();
    const { problems } = watchPage(page, origin);
    await page.goto(server.url);
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    await page.waitForSelector(`tr[data-port="${holder.ports[0]}"]`, { timeout: 5_000 });
    expect(await page.textContent('#count')).toBe('1 listening (0 tcp, 1 udp)');

    // A listener opened after the page loaded appears within a second, highlighted.
    const { index, port } = await holder.open({ proto: 'tcp', host: '::1' });
    const opened = Date.now();
    const row = page.locator(`tr[data-port="${port}"]`);
    await row.waitFor({ state: 'visible', timeout: 5_000 });
    const appearedMs = Date.now() - opened;
    expect(appearedMs).toBeLessThan(1_000);
    expect(await row.getAttribute('data-state')).toBe('open');
    expect(await row.getAttribute('class')).toContain('is-new');
    expect(await row.locator('.col-endpoint').textContent()).toBe(`[::1]:${port}`);
    expect(await row.locator('.col-pid').textContent()).toBe(String(holder.pid));
    expect(await row.locator('.col-process').textContent()).toContain('python3');
    expect(await page.locator(`#events li[data-type="open"][data-port="${port}"]`).count()).toBe(1);

    // An HTTP server gets an "open" link with its title; the link goes through the proxy.
    const appPort = await htmlApp('Browser test app');
    appPorts.add(appPort);
    const appRow = page.locator(`tr[data-port="${appPort}"]`);
    await appRow.locator('a.open').waitFor({ timeout: 10_000 });
    expect(await appRow.locator('.page-title').textContent()).toBe('Browser test app');
    await page.screenshot({ path: join(OUTPUT, 'serve-dashboard.png'), fullPage: true });
    const [popup] = await Promise.all([page.waitForEvent('popup'), appRow.locator('a.open').click()]);
    await popup.waitForLoadState('domcontentloaded');
    expect(new URL(popup.url()).host).toBe(`p${appPort}.localhost:${server.port}`);
    expect(await popup.title()).toBe('Browser test app');
    await popup.close();

    // The filter box.
    await page.fill('#filter', String(appPort));
    await waitFor(async () => (await row.isHidden()) && (await appRow.isVisible()), 'the filter to hide other rows', 5_000);
    expect(await page.textContent('#count')).toBe('3 listening (2 tcp, 1 udp) · 1 shown');
    await page.fill('#filter', '');

    // Its close is shown (faded, marked closed), then the row goes.
    await holder.close(index);
    const closed = Date.now();
    await page.waitForSelector(`tr[data-port="${port}"][data-state="closed"]`, { timeout: 5_000 });
    expect(Date.now() - closed).toBeLessThan(1_000);
    expect(await row.getAttribute('class')).toContain('is-closed');
    expect(await page.locator(`#events li[data-type="close"][data-port="${port}"]`).count()).toBe(1);
    await page.screenshot({ path: join(OUTPUT, 'serve-dashboard-closing.png'), fullPage: true });
    await row.waitFor({ state: 'detached', timeout: 10_000 });
    expect(await page.textContent('#count')).toBe('2 listening (1 tcp, 1 udp)');
    expect(problems).toEqual([]);
  });

  it('is readable on a phone: no horizontal scrolling, command under the process name', async (ctx) => {
    if (!browserAvailable(ctx)) return;
    mkdirSync(OUTPUT, { recursive: true });
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
    const server = await startServe({ filter: (l) => l.process?.pid === holder.pid, probe: false });
    const browser = await launch({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const page = await browser.newPage();
    const { problems } = watchPage(page, server.url.replace(/\/$/, ''));
    await page.goto(server.url);
    await page.waitForSelector(`tr[data-port="${holder.ports[0]}"]`, { timeout: 10_000 });
    const widths = (await page.evaluate('[document.documentElement.scrollWidth, window.innerWidth]')) as number[];
    expect(widths[0]).toBeLessThanOrEqual(widths[1] as number);
    expect(await page.locator('td.col-command').first().isHidden()).toBe(true);
    expect(await page.locator('.col-process .sub').first().isVisible()).toBe(true);
    await page.screenshot({ path: join(OUTPUT, 'serve-dashboard-phone.png'), fullPage: true });
    expect(problems).toEqual([]);
  });

  it('on a phone each listener is a card: the open link is on screen, no sideways scrolling', async (ctx) => {
    if (!browserAvailable(ctx)) return;
    mkdirSync(OUTPUT, { recursive: true });
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
    const appPort = await htmlApp('My phone-sized dev server with a rather long page title');
    const server = await startServe({ filter: (l) => l.process?.pid === holder.pid || l.port === appPort });
    const browser = await launch(PHONE);
    const page = await browser.newPage();
    const { problems } = watchPage(page, server.url.replace(/\/$/, ''));
    await page.goto(server.url);
    const link = page.locator(`tr[data-port="${appPort}"] a.open`);
    await link.waitFor({ timeout: 10_000 });
    await page.waitForSelector(`tr[data-port="${holder.ports[0]}"]`, { timeout: 5_000 });
    const box = await link.boundingBox();
    expect(box).not.toBeNull();
    const b = box as { x: number; y: number; width: number; height: number };
    expect(b.x).toBeGreaterThanOrEqual(0);
    expect(b.x + b.width).toBeLessThanOrEqual(390);
    expect(b.y).toBeGreaterThanOrEqual(0);
    expect(b.y + b.height).toBeLessThanOrEqual(844);
    expect(b.height).toBeGreaterThanOrEqual(24); // a finger can hit it
    const widths = (await page.evaluate('[document.documentElement.scrollWidth, window.innerWidth]')) as number[];
    expect(widths[0]).toBeLessThanOrEqual(widths[1] as number);
    // The link is on the first line of its card, with the address it opens.
    const endpoint = await page.locator(`tr[data-port="${appPort}"] td.col-endpoint`).boundingBox();
    expect(Math.abs((endpoint?.y ?? -100) - b.y)).toBeLessThan(b.height);
    await page.screenshot({ path: join(OUTPUT, 'serve-dashboard-phone-cards.png'), fullPage: true });
    expect(problems).toEqual([]);
  });

  it('greys the table out, and says so, while serve cannot be reached', async (ctx) => {
    if (!browserAvailable(ctx)) return;
    mkdirSync(OUTPUT, { recursive: true });
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
    const server = await startServe({ filter: (l) => l.process?.pid === holder.pid, probe: false });
    const browser = await launch(PHONE);
    const page = await browser.newPage();
    await page.goto(server.url);
    await page.waitForSelector(`tr[data-port="${holder.ports[0]}"]`, { timeout: 10_000 });
    await page.waitForSelector('#status[data-state="live"]', { timeout: 5_000 });
    expect(await page.getAttribute('#table-wrap', 'data-stale')).toBe('false');
    expect(await page.locator('#stale').isHidden()).toBe(true);

    await server.close();
    await page.waitForSelector('#table-wrap[data-stale="true"]', { timeout: 10_000 });
    expect(await page.locator('#stale').isVisible()).toBe(true);
    expect(await page.textContent('#stale')).toMatch(/^Not live since \d\d:\d\d:\d\d: portwatch serve cannot be reached/);
    const look = (await page.evaluate(
      "(() => { const s = getComputedStyle(document.querySelector('#listeners')); return [s.opacity, s.filter]; })()",
    )) as string[];
    expect(Number(look[0])).toBeLessThanOrEqual(0.5);
    expect(look[1]).toContain('grayscale');
    expect(await page.locator(`tr[data-port="${holder.ports[0]}"]`).count()).toBe(1); // still shown, as last known
    await page.screenshot({ path: join(OUTPUT, 'serve-dashboard-phone-stale.png'), fullPage: true });
  });

  it('a burst of 100 listeners from one process is one line in the feed', async (ctx) => {
    if (!browserAvailable(ctx)) return;
    mkdirSync(OUTPUT, { recursive: true });
    const proc = await burstProcess();
    const server = await startServe({ filter: (l) => l.process?.pid === proc.pid, probe: false });
    const browser = await launch(PHONE);
    const page = await browser.newPage();
    const { problems } = watchPage(page, server.url.replace(/\/$/, ''));
    await page.goto(server.url);
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    const base = await proc.burst();
    await waitFor(async () => (await page.locator('#listeners tr[data-state="open"]').count()) === 100, '100 rows', 10_000);
    const items = page.locator('#events li');
    expect(await items.count()).toBe(1);
    expect(await items.first().getAttribute('data-count')).toBe('100');
    expect(await items.first().getAttribute('data-type')).toBe('open');
    expect(await items.first().textContent()).toMatch(
      new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\+ 100 tcp ports opened by ${proc.name} \\(pid ${proc.pid}\\): ${base}–${base + 99}$`),
    );
    await items.first().scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(OUTPUT, 'serve-dashboard-phone-burst.png') });
    // After a reload the snapshot's events are collapsed the same way.
    await page.reload();
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    await waitFor(async () => (await items.count()) === 1, 'one feed line after reload', 5_000);
    expect(await items.first().getAttribute('data-count')).toBe('100');
    expect(problems).toEqual([]);
  });

  it('reconnects by itself when the stream drops, and shows what happened meanwhile', async (ctx) => {
    if (!browserAvailable(ctx)) return;
    const holder = await holdSockets([]);
    const server = await startServe({ filter: (l) => l.process?.pid === holder.pid, probe: false });
    const streams = async (): Promise<number> => (await server.metrics.sseClients.get()).values[0]?.value ?? -1;
    const browser = await launch();
    const page = await browser.newPage();
    await page.goto(server.url);
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    expect(await streams()).toBe(1);
    // While the page cannot reach the stream (a network blip), a port opens.
    await page.route('**/api/events**', (route) => route.abort('connectionreset'));
    if (!(await dropEventStreams(server.port))) {
      console.warn('skipped: this kernel cannot close sockets from outside (ss -K needs CONFIG_INET_DIAG_DESTROY)');
      ctx.skip();
    }
    await waitFor(async () => (await streams()) === 0, 'the stream to be cut');
    await page.waitForSelector('#status:not([data-state="live"])', { timeout: 10_000 });
    const { port } = await holder.open({ proto: 'tcp', host: '127.0.0.1' });
    await waitFor(() => server.listeners().some((l) => l.port === port), 'the server to see the port');
    expect(await page.locator(`tr[data-port="${port}"]`).count()).toBe(0);
    // Back online: the page reconnects by itself and catches up from the snapshot.
    await page.unroute('**/api/events**');
    await page.waitForSelector(`tr[data-port="${port}"][data-state="open"]`, { timeout: 15_000 });
    await page.waitForSelector('#status[data-state="live"]', { timeout: 5_000 });
    expect(await streams()).toBe(1);
  });
});

/** Closes the server side of every connection to `port` (as a network blip would); false when the kernel cannot. */
async function dropEventStreams(port: number): Promise<boolean> {
  const { spawnSync } = await import('node:child_process');
  const r = spawnSync('ss', ['-K', '-t', 'state', 'established', `( sport = :${port} )`], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes(`:${port}`);
}
