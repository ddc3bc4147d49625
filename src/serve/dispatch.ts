/**
 * Where each request and each upgrade serve accepts goes. Both pass the one access decision
 * (auth.ts: Host, own-origin check, token, tickets, sessions) first, so HTTP and WebSocket
 * cannot drift apart; then a request goes to serve's own routes (own-routes.ts) or the proxy
 * (proxy.ts), and an upgrade to the proxy (proxy-upgrade.ts) or `forward URL`'s tunnel
 * (tunnel.ts). The proxy and the tunnel connect only where resolveProxyTarget() says, and are
 * off with --no-proxy. Upgraded sockets are kept so that serve's close() ends them.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { authorize, type AuthContext, type AuthRequest } from './auth.js';
import { defaultMaxConnections } from './bind-address.js';
import type { ListenerTable } from './listener-table.js';
import type { ServeMetrics } from './metrics.js';
import { routeOwn, type OwnRoutes } from './own-routes.js';
import { forwardRequest, forwardUpgrade, type ProxyAgents } from './proxy.js';
import { resolveProxyTarget, type ProxyContext, type ProxyResolution, type ProxyTarget } from './proxy-target.js';
import { SECURITY_HEADERS, rejectUpgrade, sendError } from './responses.js';
import type { ServeLogger, ServeServerOptions } from './serve-options.js';
import { TunnelEndpoint, tunnelPort } from './tunnel.js';

const DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024;

export interface DispatchContext {
  /** Read at each request: `proxy` and `maxBodyBytes`. */
  options: ServeServerOptions;
  auth: AuthContext;
  /** What serve's own routes answer from. */
  own: OwnRoutes;
  table: ListenerTable;
  metrics: ServeMetrics;
  proxy: ProxyContext;
  agents: ProxyAgents;
  logger: ServeLogger;
}

export class Dispatcher {
  private readonly upgraded = new Set<Duplex>();
  private readonly tunnel: TunnelEndpoint;

  constructor(private readonly ctx: DispatchContext) {
    // A spliced raw tunnel holds 6 fds (2 sockets, 2 pipes) and no HTTP connection: at most a
    // third of serve's connection limit of them, so that HTTP keeps its fds.
    const maxRaw = Math.max(1, Math.floor((ctx.options.maxConnections ?? defaultMaxConnections()) / 3));
    this.tunnel = new TunnelEndpoint((delta) => ctx.options.onTunnels?.(delta), maxRaw);
  }

  /** An HTTP request; whatever fails answers 500 (or cuts a response already under way). */
  onRequest(req: IncomingMessage, res: ServerResponse): void {
    this.route(req, res).catch((e: unknown) => {
      this.ctx.logger.warn(`request ${req.method} ${req.url} failed: ${(e as Error).message}`);
      if (!res.headersSent) sendError(req, res, 500, 'internal error');
      else res.destroy();
    });
  }

  /** An upgrade request; whatever fails answers 500 on that socket alone. */
  onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    try {
      this.upgrade(req, socket, head);
    } catch (e) {
      // Nothing a client or a target sends may end the process: this request fails alone.
      this.ctx.logger.warn(`upgrade ${req.method} ${splitPath(req.url)} failed: ${(e as Error).message}`);
      rejectUpgrade(socket, 500, 'internal error');
    }
  }

  /** Ends every upgraded connection (proxied WebSockets and tunnels). */
  close(): void {
    this.tunnel.close(); // first: its raw tunnels end with a reset, not the plain close below
    for (const s of this.upgraded) s.destroy();
    this.upgraded.clear();
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const decision = authorize(authRequest(req, false), this.ctx.auth);
    if (decision.kind === 'deny') {
      req.resume();
      return sendError(req, res, decision.status, decision.message, { hint: decision.hint, headers: decision.headers });
    }
    if (decision.kind === 'redirect') {
      req.resume();
      res.writeHead(decision.status, {
        ...SECURITY_HEADERS,
        Location: decision.location,
        'Cache-Control': 'no-store',
        ...(decision.setCookie === null ? {} : { 'Set-Cookie': decision.setCookie }),
      });
      res.end();
      return;
    }
    if (decision.setCookie !== null) res.setHeader('Set-Cookie', decision.setCookie);
    const to = decision.to;
    if (to.kind === 'proxy') return this.proxy(req, res, to.port, to.path, to.prefix);
    if (tunnelPort(to.target.path) !== null) {
      // The tunnel is an upgrade. A proxy that passes only WebSocket upgrades sends the raw
      // one on as a plain GET: 426 is what tells the forward to use the WebSocket instead.
      req.resume();
      return sendError(req, res, 426, 'the tunnel is an HTTP upgrade (Upgrade: portwatch-tcp or websocket)', {
        headers: { Upgrade: 'portwatch-tcp, websocket', Connection: 'Upgrade' },
      });
    }
    return routeOwn(req, res, to.target, this.ctx.own);
  }

  private resolve(port: number): ProxyResolution {
    return resolveProxyTarget(port, Array.from(this.ctx.table.values()), this.ctx.proxy);
  }

  private proxy(req: IncomingMessage, res: ServerResponse, port: number, path: string, prefix: string | null): void {
    const { options, metrics } = this.ctx;
    if (options.proxy === false) return sendError(req, res, 404, 'the proxy is turned off (--no-proxy)');
    const resolved = this.resolve(port);
    if (!resolved.ok) {
      metrics.proxyRequests.inc({ status: String(resolved.status) });
      req.resume();
      return sendError(req, res, resolved.status, `${resolved.reason}.`, {
        hint:
          resolved.status === 502
            ? 'Start the server on that port, then reload: portwatch forwards to it as soon as it listens.'
            : undefined,
      });
    }
    forwardRequest(req, res, {
      ...this.upstream(req, resolved.target, port, path, prefix),
      maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
      agents: this.ctx.agents,
    });
  }

  /** What a proxied request and a proxied upgrade both tell the upstream code. */
  private upstream(req: IncomingMessage, target: ProxyTarget, port: number, path: string, prefix: string | null) {
    const { metrics, logger } = this.ctx;
    return {
      target,
      port,
      path,
      prefix,
      publicHost: req.headers.host ?? 'localhost',
      token: this.ctx.auth.token,
      onStatus: (status: number) => metrics.proxyRequests.inc({ status: String(status) }),
      log: (message: string) => logger.warn(message),
    };
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const decision = authorize(authRequest(req, true), this.ctx.auth);
    if (decision.kind === 'deny') return rejectUpgrade(socket, decision.status, decision.message, decision.headers);
    if (decision.kind === 'redirect') return rejectUpgrade(socket, 404, `no WebSocket endpoint at ${splitPath(req.url)}`);
    if (decision.to.kind === 'own') return this.tunnelUpgrade(req, socket, head, decision.to.target.path);
    const { port, path, prefix } = decision.to;
    const { options, metrics } = this.ctx;
    if (options.proxy === false) return rejectUpgrade(socket, 404, 'the proxy is turned off (--no-proxy)');
    const resolved = this.resolve(port);
    if (!resolved.ok) {
      metrics.proxyRequests.inc({ status: String(resolved.status) });
      return rejectUpgrade(socket, resolved.status, resolved.reason);
    }
    forwardUpgrade(req, socket, head, {
      ...this.upstream(req, resolved.target, port, path, prefix),
      track: (s) => this.track(s),
    });
  }

  /** `portwatch forward URL`'s end: /api/tunnel/<PORT> (see tunnel.ts); off with the proxy. */
  private tunnelUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, path: string): void {
    const port = tunnelPort(path);
    if (port === null) return rejectUpgrade(socket, 404, `no WebSocket endpoint at ${path}`);
    if (this.ctx.options.proxy === false) return rejectUpgrade(socket, 404, 'the tunnel is turned off with the proxy (--no-proxy)');
    this.track(socket);
    this.tunnel.handle(req, socket, head, port, {
      resolve: (p) => this.resolve(p),
      track: (s) => this.track(s),
      log: (message) => this.ctx.logger.warn(message),
    });
  }

  private track(s: Duplex): void {
    this.upgraded.add(s);
    s.once('close', () => this.upgraded.delete(s));
  }
}

function authRequest(req: IncomingMessage, upgrade: boolean): AuthRequest {
  return { method: req.method, url: req.url, headers: req.headers, rawHeaders: req.rawHeaders, upgrade };
}

function splitPath(url: string | undefined): string {
  return (url ?? '').split('?')[0] ?? '';
}
