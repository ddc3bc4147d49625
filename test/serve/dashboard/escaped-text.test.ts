/**
 * The live page shows text other processes chose with control and bidi characters escaped,
 * as the CLI does: in a real headless Chromium (skipped without /usr/bin/chromium unless
 * PORTWATCH_REQUIRE_BROWSER=1).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { browserAvailable, launchBrowser, type Browser } from '../../helpers/browser.js';
import { HOSTILE_ARG_SHOWN, HOSTILE_NAME_SHOWN, RAW_CONTROL, startHostile, stopHostiles } from '../../helpers/hostile-process.js';
import { escapeControl } from '../../../src/text/escape.js';
import { closeAll, startServe } from '../helpers.js';

let browser: Browser | null = null;
afterEach(async () => {
  await browser?.close();
  browser = null;
  await closeAll();
  await stopHostiles();
});

describe('the live page and hostile text', () => {
  it('shows names and command lines with \\x1b, \\n, \\u202e written out, in cells, titles and the feed', async (ctx) => {
    if (!browserAvailable(ctx)) return;
    const evil = await startHostile();
    const server = await startServe({ filter: (l) => l.process?.pid === evil.pid, probe: false, watchOptions: { interval: 50 } });
    browser = await launchBrowser();
    const page = await browser.context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(server.url);
    const row = page.locator(`tr[data-port="${evil.port}"]`);
    await row.waitFor({ timeout: 10_000 });
    const port = await evil.open(); // an event for the feed
    const item = page.locator(`#events li[data-port="${port}"]`);
    await item.waitFor({ timeout: 10_000 });

    const command = await row.locator('.col-command').textContent();
    expect(command?.endsWith(` ${HOSTILE_ARG_SHOWN}`)).toBe(true);
    // The page's copy of the escapes agrees with the CLI's.
    const exact = server.listeners().find((l) => l.port === evil.port)?.process?.command ?? '';
    expect(command).toBe(escapeControl(exact));
    expect(await row.locator('.col-command').getAttribute('title')).toBe(command);
    expect(await row.locator('.col-process').textContent()).toContain(HOSTILE_NAME_SHOWN);
    expect(await item.textContent()).toContain(` ${HOSTILE_NAME_SHOWN} (${evil.pid})`);
    const text = (await page.evaluate(
      "[document.querySelector('#listeners tbody').textContent, document.querySelector('#events').textContent]",
    )) as string[];
    for (const t of text) expect(t).not.toMatch(RAW_CONTROL);
    expect(problems).toEqual([]);
  });
});
