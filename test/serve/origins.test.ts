/**
 * Hostile apps behind the proxy, in a real browser: what an app can take from portwatch
 * through cookies and through the path form. Each case failed before sessions became
 * server-side and host-bound, and before the path form was sandboxed.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { browserAvailable, launchBrowser, type Browser } from '../helpers/browser.js';
import { waitFor } from '../helpers/processes.js';
import { closeAll, httpGet, startServe } from './helpers.js';

const TOKEN = 'origins-test-token';
let browser: Browser | null = null;
const apps: Server[] = [];

afterEach(async () => {
  await browser?.close();
  browser = null;
  for (const s of apps.splice(0)) {
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
  await closeAll();
});

async function app(handler: (req: IncomingMessage) => { type: string; body: string }): Promise<number> {
  const s = createServer((req, res) => {
    const { type, body } = handler(req);
    res.writeHead(200, { 'Content-Type': type, 'Cache-Control': 'no-store' }).end(body);
  });
  apps.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return (s.address() as AddressInfo).port;
}

describe('a hostile app behind the proxy', () => {
  it('gets the cookie of its own p<PORT> host (cookies ignore ports), and it opens nothing but that app', async (ctx) => {
    if (!browserAvailable(ctx)) return;
    const stolen: string[] = [];
    let appPort = 0;
    appPort = await app((req) => {
      if (req.url === '/steal') {
        stolen.push(req.headers.cookie ?? '');
        return { type: 'image/gif', body: '' };
      }
      // Served through the proxy at p<PORT>.localhost:<serve>; this loads the app's own port directly.
      return { type: 'text/html', body: `<!doctype html><title>app</title><img src="http://p${appPort}.localhost:${appPort}/steal">` };
    });
    const other = await app(() => ({ type: 'text/plain', body: 'other app' }));
    const ports = new Set([appPort, other]);
    const server = await startServe({ token: TOKEN, probe: false, filter: (l) => ports.has(l.port) });
    await waitFor(() => server.listeners().filter((l) => ports.has(l.port)).length === 2, 'both apps listed');

    browser = await launchBrowser();
    const page = await browser.context.newPage();
    await page.goto(`http://localhost:${server.port}/?token=${TOKEN}`);
    await page.goto(`http://localhost:${server.port}/open/${appPort}`);
    expect(page.url()).toBe(`http://p${appPort}.localhost:${server.port}/`);
    const cookie = await waitFor(() => stolen.find((c) => c.includes('portwatch_')), 'the app to receive a portwatch cookie');

    // Replayed elsewhere, it opens nothing: not the API, not another port, not the path form.
    expect((await httpGet(server.port, '/api/listeners', { headers: { cookie } })).status).toBe(401);
    expect(
      (await httpGet(server.port, '/api/listeners', { headers: { cookie, host: `p${appPort}.localhost:${server.port}` } })).status,
    ).toBe(200 /* proxied: the app itself answers */);
    expect((await httpGet(server.port, '/', { headers: { cookie, host: `p${other}.localhost:${server.port}` } })).status).toBe(401);
    expect((await httpGet(server.port, `/proxy/${other}/`, { headers: { cookie } })).status).toBe(401);
    // and the dashboard's own session never reached the app
    expect(stolen.join(';')).not.toMatch(/portwatch_session=/);
  });

  it('through the path form runs in an opaque origin: no API, no other port, no service worker; its own files load', async (ctx) => {
    if (!browserAvailable(ctx)) return;
    let other = 0;
    const appPort = await app((req) => {
      if (req.url === '/app.js') {
        return {
          type: 'text/javascript',
          body: `(async () => {
            const out = { origin: window.origin };
            try { const r = await fetch('/api/listeners'); out.api = r.status + ' ' + (await r.text()).slice(0, 40); } catch { out.api = 'blocked'; }
            try { const r = await fetch('/proxy/${other}/'); out.other = r.status + ' ' + (await r.text()).slice(0, 40); } catch { out.other = 'blocked'; }
            try { await navigator.serviceWorker.register('sw.js', { scope: './' }); out.sw = 'registered'; } catch { out.sw = 'refused'; }
            document.title = JSON.stringify(out);
          })();`,
        };
      }
      if (req.url === '/sw.js') return { type: 'text/javascript', body: '' };
      return { type: 'text/html', body: '<!doctype html><title>loading</title><script src="app.js"></script>' };
    });
    other = await app(() => ({ type: 'text/plain', body: 'other app secret' }));
    const ports = new Set([appPort, other]);
    const server = await startServe({ token: TOKEN, probe: false, filter: (l) => ports.has(l.port) });
    await waitFor(() => server.listeners().filter((l) => ports.has(l.port)).length === 2, 'both apps listed');

    browser = await launchBrowser();
    const page = await browser.context.newPage();
    // The path form, as /open/ sends browsers that reached serve by a non-loopback IP address.
    await page.goto(`http://127.0.0.1:${server.port}/?token=${TOKEN}`);
    await page.goto(`http://127.0.0.1:${server.port}/proxy/${appPort}/`);
    expect(page.url()).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${server.port}/proxy/${appPort}\\.[\\w-]{43}/$`));
    await page.waitForFunction("document.title.startsWith('{')", undefined, { timeout: 10_000 });
    const out = JSON.parse(await page.title()) as Record<string, string>;
    expect(out).toEqual({ origin: 'null', api: 'blocked', other: 'blocked', sw: 'refused' });
  });
});
