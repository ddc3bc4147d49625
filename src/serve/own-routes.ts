/**
 * serve's own routes, after the one access decision (auth.ts) let a request through: the
 * page and its assets, the API (/api/listeners, /api/events, /api/forwards), /healthz,
 * /metrics and /open/PORT. GET and HEAD only, and no request bodies.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { handleEvents, handleHealth, handleListeners, handleMetrics, type ApiContext } from './api.js';
import { APP_CSS, APP_JS, INDEX_HTML, type Asset } from './dashboard/assets.js';
import type { ServeForwards } from './forwards.js';
import { PAGE_CSP, SECURITY_HEADERS, sendError } from './responses.js';
import { openLocation, proxyPathRoute, type RequestTarget } from './routing.js';
import { AUTH_PATH, createTicket, parseHostHeader } from './security.js';

const OWN_METHODS = new Set(['GET', 'HEAD']);

export interface OwnRoutes {
  api: ApiContext;
  token: string | null;
  allowHosts: string[];
  /** forward --serve: the forwards; null for a plain serve (then /api/forwards is not there). */
  forwards: ServeForwards | null;
}

export async function routeOwn(req: IncomingMessage, res: ServerResponse, target: RequestTarget, ctx: OwnRoutes): Promise<void> {
  const proxied = proxyPathRoute(target.path);
  if (!OWN_METHODS.has(req.method ?? '')) {
    return sendError(req, res, 405, `${req.method} is not allowed here`, { headers: { Allow: 'GET, HEAD' } });
  }
  if (Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined) {
    return sendError(req, res, 413, 'portwatch accepts no request bodies', { headers: { Connection: 'close' } });
  }
  if (proxied?.kind === 'bad-port') return sendError(req, res, 400, `'${proxied.text}' is not a TCP port number`);
  const query = new URLSearchParams(target.search);
  switch (target.path) {
    case '/':
      return serveAsset(req, res, INDEX_HTML, { 'Content-Security-Policy': PAGE_CSP });
    case '/assets/app.js':
      return serveAsset(req, res, APP_JS);
    case '/assets/app.css':
      return serveAsset(req, res, APP_CSS);
    case '/api/listeners':
      return handleListeners(req, res, ctx.api);
    case '/api/events':
      return handleEvents(req, res, query, ctx.api);
    case '/api/forwards':
      if (ctx.forwards === null) break;
      return ctx.forwards.handle(req, res);
    case '/healthz':
      return handleHealth(req, res, ctx.api);
    case '/metrics':
      return handleMetrics(req, res, ctx.api);
  }
  const open = /^\/open\/(\d{1,5})$/.exec(target.path);
  if (open?.[1]) return openPort(req, res, Number(open[1]), ctx);
  sendError(req, res, 404, `nothing here: ${target.path}`, {
    hint: target.path === '/api/forwards' ? 'Forwards are served by portwatch forward --serve.' : 'The page is at /, the API under /api/.',
  });
}

function serveAsset(req: IncomingMessage, res: ServerResponse, asset: Asset, headers: Record<string, string> = {}): void {
  const common = { ...SECURITY_HEADERS, ETag: asset.etag, 'Cache-Control': 'no-cache', ...headers };
  if (req.headers['if-none-match'] === asset.etag) {
    res.writeHead(304, common);
    res.end();
    return;
  }
  res.writeHead(200, { ...common, 'Content-Type': asset.contentType, 'Content-Length': asset.body.length });
  res.end(asset.body);
}

function openPort(req: IncomingMessage, res: ServerResponse, port: number, ctx: OwnRoutes): void {
  if (port < 1 || port > 65535) return sendError(req, res, 400, `${port} is not a TCP port number`);
  const parsed = parseHostHeader(req.headers.host);
  if (!parsed) return sendError(req, res, 400, 'no Host header');
  const where = openLocation(parsed, port, ctx.allowHosts);
  let location = where.url;
  if (ctx.token !== null && where.subdomain !== null) {
    location = `${where.url.replace(/\/$/, '')}${AUTH_PATH}?ticket=${createTicket(ctx.token, where.subdomain)}`;
  }
  res.writeHead(302, { ...SECURITY_HEADERS, Location: location, 'Cache-Control': 'no-store' });
  res.end();
}
