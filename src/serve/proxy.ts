/**
 * The reverse proxy, on node:http: a request is streamed to the target and the response
 * streamed back (server-sent events and long downloads included). Whatever a client or a
 * target sends, one request's failure is that request's error page or cut connection,
 * never an exception out of here. Upgrades (WebSocket) are in proxy-upgrade.ts, the header
 * rewriting in proxy-headers.ts.
 */
import { request as httpRequest, type ClientRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import {
  clientResponseHeaders,
  isValidFinalHead,
  sendableHeaders,
  upstreamRequestHeaders,
  viaIncludes,
  withoutToken,
  type RouteInfo,
} from './proxy-headers.js';
import type { ProxyTarget } from './proxy-target.js';
import {
  DEFAULT_CLIENT_TIMEOUT_MS,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_READ_TIMEOUT_MS,
  INVALID_RESPONSE,
  VIA_NAME,
  connectDeadline,
  guarded,
  loopMessage,
  seconds,
  unreachable,
  type ProxyAgents,
  type ProxyTimeouts,
} from './proxy-upstream.js';
import { sendError } from './responses.js';

export { clientResponseHeaders, rewriteLocation, upstreamRequestHeaders, SANDBOX_CSP } from './proxy-headers.js';
export type { RouteInfo, UpstreamHeaderOptions } from './proxy-headers.js';
export { forwardUpgrade, type UpgradeOptions } from './proxy-upgrade.js';
export { createProxyAgents, type ProxyAgents, type ProxyTimeouts } from './proxy-upstream.js';

export interface ForwardOptions extends RouteInfo, ProxyTimeouts {
  target: ProxyTarget;
  /** Path and query on the target. */
  path: string;
  token: string | null;
  maxBodyBytes: number;
  agents: ProxyAgents;
  /** Told the final status of every request (for metrics). */
  onStatus: (status: number) => void;
  /** This proxy's name in `Via`, for loop detection (default: one random name per process). */
  viaName?: string;
  /** One line when a request's path fails unexpectedly (default: not logged). */
  log?: (message: string) => void;
}

/** Streams one request to the target and its response back. Never throws. */
export function forwardRequest(req: IncomingMessage, res: ServerResponse, o: ForwardOptions): void {
  const forwarded = new ForwardedRequest(req, res, o);
  try {
    forwarded.start();
  } catch (e) {
    forwarded.fail(e);
  }
}

class ForwardedRequest {
  private upstream: ClientRequest | null = null;
  private settled = false;
  private responded = false;
  private bodyTimer: NodeJS.Timeout | null = null;
  private cancelConnect: () => void = () => {};

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly o: ForwardOptions,
  ) {}

  start(): void {
    const { req, res, o } = this;
    const viaName = o.viaName ?? VIA_NAME;
    if (viaIncludes(req.rawHeaders, viaName)) {
      req.resume();
      return this.abort(508, `${loopMessage(o.port)}.`);
    }
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > o.maxBodyBytes) {
      req.resume();
      return this.abort(413, `the request body is larger than the limit of ${o.maxBodyBytes} bytes`, { Connection: 'close' });
    }
    const headers = sendableHeaders(
      upstreamRequestHeaders(req.rawHeaders, { ...o, clientAddress: req.socket.remoteAddress, upgrade: false, via: `1.1 ${viaName}` }),
    );
    const options = {
      host: o.target.host,
      port: o.target.port,
      family: o.target.family,
      method: req.method,
      path: withoutToken(o.path, o.token),
      headers,
      setHost: false,
      timeout: o.readTimeoutMs ?? DEFAULT_READ_TIMEOUT_MS,
    };
    const upstream = o.target.tls
      ? httpsRequest({ ...options, agent: o.agents.https, servername: 'localhost', rejectUnauthorized: false })
      : httpRequest({ ...options, agent: o.agents.http });
    this.upstream = upstream;
    const connectMs = o.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.cancelConnect = connectDeadline(
      upstream,
      o.target.tls,
      connectMs,
      this.guard(() => this.abort(504, `TCP port ${o.port} did not accept a connection within ${seconds(connectMs)}`)),
    );
    upstream.on(
      'response',
      this.guard((ur: IncomingMessage) => this.onResponse(ur)),
    );
    upstream.on(
      'timeout',
      this.guard(() => this.abort(504, `TCP port ${o.port} sent nothing for ${seconds(options.timeout)}`)),
    );
    upstream.on(
      'error',
      this.guard((e: NodeJS.ErrnoException) => this.abort(502, unreachable(o.target, e))),
    );
    // A 101 to a plain request is dropped by Node without a response or an error.
    upstream.on(
      'close',
      this.guard(() => {
        if (!this.responded) this.abort(502, `${INVALID_RESPONSE}: TCP port ${o.port} closed the connection without a usable response`);
      }),
    );
    res.once('close', () => {
      this.clearBodyTimer();
      this.cancelConnect();
      if (!res.writableFinished) upstream.destroy();
    });
    this.forwardBody(upstream);
  }

  /** Whatever a handler throws becomes this request's 502 (or a cut connection) and a log line. */
  private guard<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void {
    return guarded(fn, (e) => this.fail(e));
  }

  fail(e: unknown): void {
    this.o.log?.(`proxy to TCP port ${this.o.port}: ${this.req.method} failed: ${e instanceof Error ? e.message : String(e)}`);
    this.abort(502, 'the proxy failed on this request (see the serve log)');
  }

  /** Ends the request to the target and answers with an error, or cuts the client connection when the response has begun. */
  private abort(status: number, message: string, headers?: Record<string, string>): void {
    this.clearBodyTimer();
    this.cancelConnect();
    if (this.settled || this.res.writableFinished) return;
    const begun = this.res.headersSent;
    if (!begun) {
      this.settled = true;
      this.o.onStatus(status);
    }
    this.upstream?.destroy();
    try {
      if (begun) this.res.destroy();
      else sendError(this.req, this.res, status, message, headers ? { headers } : {});
    } catch {
      this.res.destroy();
    }
  }

  private onResponse(ur: IncomingMessage): void {
    const { req, res, o } = this;
    this.cancelConnect();
    if (!isValidFinalHead(ur.statusCode, ur.statusMessage)) {
      return this.abort(
        502,
        `${INVALID_RESPONSE}: TCP port ${o.port} answered with status ${ur.statusCode ?? '?'} or a malformed status line`,
      );
    }
    const status = ur.statusCode as number;
    this.responded = true;
    const headers = clientResponseHeaders(ur.rawHeaders, o);
    // Head, a small body and the end usually arrive together: one write instead of three.
    res.cork();
    setImmediate(() => res.uncork());
    res.writeHead(status, ur.statusMessage, headers);
    if (/^text\/event-stream/i.test(ur.headers['content-type'] ?? '')) {
      res.flushHeaders();
      req.socket.setNoDelay(true);
    }
    ur.pipe(res);
    ur.once('error', () => res.destroy());
    ur.once('aborted', () => res.destroy());
    res.once('finish', () => {
      if (this.settled) return;
      this.settled = true;
      o.onStatus(status);
    });
  }

  /** Streams the client's body to the target within the size limit, and gives up on a client that stops sending. */
  private forwardBody(upstream: ClientRequest): void {
    const { req, o } = this;
    let received = 0;
    req.on(
      'data',
      this.guard((chunk: Buffer) => {
        if (this.settled) return; // answered already (408, 413, 5xx): the rest of the body goes nowhere
        received += chunk.length;
        if (received > o.maxBodyBytes) {
          req.removeAllListeners('data');
          req.resume();
          return this.abort(413, `the request body is larger than the limit of ${o.maxBodyBytes} bytes`, { Connection: 'close' });
        }
        if (upstream.write(chunk)) this.armBodyTimer();
        else {
          // The target is slow to read: its silence is the read timeout's business, not the client's.
          this.clearBodyTimer();
          req.pause();
        }
      }),
    );
    upstream.on(
      'drain',
      this.guard(() => {
        if (req.complete) return;
        req.resume();
        this.armBodyTimer();
      }),
    );
    req.once(
      'end',
      this.guard(() => {
        this.clearBodyTimer();
        upstream.end();
      }),
    );
    req.once('aborted', () => upstream.destroy());
    if (!req.complete) this.armBodyTimer();
  }

  private armBodyTimer(): void {
    this.clearBodyTimer();
    const ms = this.o.clientTimeoutMs ?? DEFAULT_CLIENT_TIMEOUT_MS;
    this.bodyTimer = setTimeout(
      this.guard(() => this.abort(408, `the request body stopped arriving: nothing for ${seconds(ms)}`, { Connection: 'close' })),
      ms,
    );
    this.bodyTimer.unref();
  }

  private clearBodyTimer(): void {
    if (this.bodyTimer !== null) clearTimeout(this.bodyTimer);
    this.bodyTimer = null;
  }
}
