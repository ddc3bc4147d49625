/**
 * The path form (/proxy/<PORT>/) shares the dashboard's origin; the proxy gives its pages a
 * CSP sandbox without allow-same-origin, so a hostile app runs in an opaque origin. Proven
 * in a real headless Chromium (Debian's, driven by playwright-core): without /usr/bin/chromium
 * the test is skipped with the reason printed, unless PORTWATCH_REQUIRE_BROWSER=1 (CI).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { browserAvailable, launchBrowser, type Browser } from '../helpers/browser.js';
import { closeProxyFixtures, httpTarget, serveFor } from './proxy-helpers.js';

let browser: Browser | null = null;
afterEach(async () => {
  await browser?.close();
  browser = null;
  await closeProxyFixtures();
});

/** What the hostile page tries, reported in its title as JSON. */
function hostilePage(port: number): string {
  return `<!doctype html><title>loading</title><script>
(async () => {
  const r = { origin: String(window.origin) };
  try {
    const res = await fetch('/api/listeners');
    r.api = 'read ' + res.status + ' ' + (await res.text()).slice(0, 20);
  } catch (e) { r.api = 'failed: ' + e.name; }
  try {
    const reg = await navigator.serviceWorker.register('/proxy/${port}/sw.js', { scope: '/' });
    r.sw = 'registered ' + reg.scope;
  } catch (e) { r.sw = 'failed: ' + e.name; }
  document.title = JSON.stringify(r);
})();
</script>`;
}

describe('the path form in a real browser', () => {
  it("runs a proxied page in an opaque origin: it can neither read portwatch's API nor register a service worker", async (ctx) => {
    if (!browserAvailable(ctx)) return;
    let port = 0;
    const app = await httpTarget((req, res) => {
      if (req.url === '/sw.js') {
        res.writeHead(200, { 'Content-Type': 'text/javascript', 'Service-Worker-Allowed': '/' });
        res.end("self.addEventListener('fetch', (e) => e.respondWith(new Response('owned by the proxied app')));");
        return;
      }
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(hostilePage(port));
    });
    port = app.port;
    const server = await serveFor([app.port]);
    browser = await launchBrowser();
    const page = await browser.context.newPage();
    await page.goto(`${server.url}proxy/${app.port}/`);
    await page.waitForFunction("document.title.startsWith('{')", undefined, { timeout: 10_000 });
    const result = JSON.parse(await page.title()) as { origin: string; api: string; sw: string };
    expect(result.origin).toBe('null'); // scripts ran (allow-scripts), in an opaque origin
    expect(result.api).toMatch(/^failed: /);
    expect(result.sw).toMatch(/^failed: /);

    // The dashboard is still the dashboard, with no worker under it.
    await page.goto(server.url);
    expect(await page.evaluate('navigator.serviceWorker.getRegistrations().then((r) => r.length)')).toBe(0);
    expect(await page.title()).toContain('portwatch');
  });
});
