/**
 * Upgrade requests (WebSocket: dev servers' hot reload) through the proxy. The request goes
 * to the target with node:http; only when it answers 101 are the two sockets piped together.
 * Any other answer is passed to the client and the connection closed, so no byte the client
 * sent after its request ever reaches a target that did not switch protocols. An upgraded
 * connection with no traffic for a while is closed, and so is one left half-closed.
 */
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ForwardOptions } from './proxy.js';
import {
  clientResponseHeaders,
  isValidFinalHead,
  isValidReason,
  sendableHeaders,
  upstreamRequestHeaders,
  viaIncludes,
  withoutToken,
} from './proxy-headers.js';
import {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_READ_TIMEOUT_MS,
  DEFAULT_UPGRADE_IDLE_TIMEOUT_MS,
  HALF_CLOSED_GRACE_MS,
  INVALID_RESPONSE,
  VIA_NAME,
  connectDeadline,
  guarded,
  loopMessage,
  seconds,
  unreachable,
} from './proxy-upstream.js';
import { rejectUpgrade } from './responses.js';

export interface UpgradeOptions extends Omit<ForwardOptions, 'maxBodyBytes' | 'agents' | 'clientTimeoutMs'> {
  /** Sockets piped together, so that shutdown can close them. */
  track: (socket: Duplex) => void;
  /** An upgraded connection with no byte either way for this long is closed (default 10 minutes). */
  idleTimeoutMs?: number;
}

type Phase = 'waiting' | 'answered' | 'tunnel' | 'done';

/** Forwards an Upgrade request (WebSocket); on a 101, pipes the client and target sockets together. Never throws. */
export function forwardUpgrade(req: IncomingMessage, client: Duplex, head: Buffer, o: UpgradeOptions): void {
  const tunnel = new UpgradeTunnel(req, client, head, o);
  try {
    tunnel.start();
  } catch (e) {
    tunnel.fail(e);
  }
}

function headLines(status: number, reason: string, headers: readonly string[]): string {
  const lines = [`HTTP/1.1 ${status} ${reason}`];
  for (let i = 0; i < headers.length; i += 2) lines.push(`${headers[i]}: ${headers[i + 1]}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

function setIdle(socket: Duplex, ms: number): void {
  if ('setTimeout' in socket && typeof socket.setTimeout === 'function') (socket as Socket).setTimeout(ms);
}

/**
 * After the last byte of an answer that closes the connection: read and drop what the client
 * sent meanwhile (closing with unread data would reset the connection, and the client could
 * lose the answer), and give it a short while to close before the socket is destroyed, so no
 * connection is left half-closed.
 */
function lingerClose(client: Duplex, ms: number): void {
  client.on('data', () => {});
  client.once('end', () => client.destroy());
  setIdle(client, ms);
  client.once('timeout', () => client.destroy());
  client.resume();
}

class UpgradeTunnel {
  private phase: Phase = 'waiting';
  private upstream: ClientRequest | null = null;
  private upstreamSocket: Duplex | null = null;
  private cancelConnect: () => void = () => {};

  constructor(
    private readonly req: IncomingMessage,
    private readonly client: Duplex,
    private readonly head: Buffer,
    private readonly o: UpgradeOptions,
  ) {}

  start(): void {
    const { req, client, o } = this;
    o.track(client);
    client.once('close', () => this.close());
    client.on('error', () => this.close());
    const viaName = o.viaName ?? VIA_NAME;
    if (viaIncludes(req.rawHeaders, viaName)) return this.reject(508, loopMessage(o.port));
    // Nothing from the client is read (so nothing can be forwarded) until the target has switched protocols.
    client.pause();
    const headers = sendableHeaders(
      upstreamRequestHeaders(req.rawHeaders, { ...o, clientAddress: req.socket.remoteAddress, upgrade: true, via: `1.1 ${viaName}` }),
    );
    const readMs = o.readTimeoutMs ?? DEFAULT_READ_TIMEOUT_MS;
    const options = {
      host: o.target.host,
      port: o.target.port,
      family: o.target.family,
      method: req.method,
      path: withoutToken(o.path, o.token),
      headers,
      setHost: false,
      agent: false,
      timeout: readMs,
    };
    const upstream = o.target.tls ? httpsRequest({ ...options, servername: 'localhost', rejectUnauthorized: false }) : httpRequest(options);
    this.upstream = upstream;
    upstream.once('socket', (s: Socket) => {
      this.upstreamSocket = s;
      o.track(s);
    });
    const connectMs = o.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.cancelConnect = connectDeadline(
      upstream,
      o.target.tls,
      connectMs,
      this.guard(() => this.reject(504, `TCP port ${o.port} did not accept a connection within ${seconds(connectMs)}`)),
    );
    upstream.on(
      'upgrade',
      this.guard((ur: IncomingMessage, socket: Socket, upstreamHead: Buffer) => this.onSwitch(ur, socket, upstreamHead)),
    );
    upstream.on(
      'response',
      this.guard((ur: IncomingMessage) => this.onRefusal(ur)),
    );
    upstream.on(
      'timeout',
      this.guard(() => this.reject(504, `TCP port ${o.port} did not answer the upgrade within ${seconds(readMs)}`)),
    );
    upstream.on(
      'error',
      this.guard((e: NodeJS.ErrnoException) => this.reject(502, unreachable(o.target, e))),
    );
    upstream.on(
      'close',
      this.guard(() => this.reject(502, `${INVALID_RESPONSE}: TCP port ${o.port} closed the connection without a usable response`)),
    );
    upstream.end();
  }

  private guard<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void {
    return guarded(fn, (e) => this.fail(e));
  }

  fail(e: unknown): void {
    this.o.log?.(`proxy upgrade to TCP port ${this.o.port} failed: ${e instanceof Error ? e.message : String(e)}`);
    if (this.phase === 'waiting') this.reject(502, 'the proxy failed on this request (see the serve log)');
    else this.close();
  }

  /** Answers the client with portwatch's own error (only while nothing was answered yet) and closes. */
  private reject(status: number, message: string): void {
    if (this.phase !== 'waiting') return;
    this.phase = 'done';
    this.cancelConnect();
    this.o.onStatus(status);
    this.upstream?.destroy();
    try {
      rejectUpgrade(this.client, status, message);
      lingerClose(this.client, this.graceMs());
    } catch {
      this.client.destroy();
    }
  }

  /** The target switched protocols: its 101 goes to the client, then the sockets are piped together. */
  private onSwitch(ur: IncomingMessage, socket: Socket, upstreamHead: Buffer): void {
    const { client, o } = this;
    if (this.phase !== 'waiting') return void socket.destroy();
    this.upstreamSocket = socket;
    o.track(socket);
    if (!isValidReason(ur.statusMessage)) {
      socket.destroy();
      return this.reject(502, `${INVALID_RESPONSE}: TCP port ${o.port} answered the upgrade with a malformed status line`);
    }
    this.phase = 'tunnel';
    this.cancelConnect();
    const headers = clientResponseHeaders(ur.rawHeaders, o, { sandbox: false });
    headers.push(...sendableHeaders(['Connection', 'Upgrade', 'Upgrade', ur.headers.upgrade ?? '']));
    o.onStatus(101);
    socket.setNoDelay(true);
    if ('setNoDelay' in client && typeof client.setNoDelay === 'function') (client as Socket).setNoDelay(true);
    client.write(headLines(101, ur.statusMessage ?? 'Switching Protocols', headers));
    if (upstreamHead.length > 0) client.write(upstreamHead);
    if (this.head.length > 0) socket.write(this.head);
    socket.on('error', () => this.close());
    socket.once('close', () => this.close());
    for (const s of [client, socket]) {
      setIdle(s, this.idleMs());
      s.on('timeout', () => this.close());
      // One side is done: the other gets a short while to finish (a close handshake), not an open-ended wait.
      s.once('end', () => {
        for (const t of [client, socket]) setIdle(t, this.graceMs());
      });
    }
    socket.pipe(client);
    client.pipe(socket);
    client.resume();
  }

  /** The target answered something else than 101: that answer goes to the client, then the connection is closed. */
  private onRefusal(ur: IncomingMessage): void {
    const { client, o } = this;
    if (this.phase !== 'waiting') return void ur.destroy();
    if (!isValidFinalHead(ur.statusCode, ur.statusMessage)) {
      return this.reject(
        502,
        `${INVALID_RESPONSE}: TCP port ${o.port} answered with status ${ur.statusCode ?? '?'} or a malformed status line`,
      );
    }
    this.phase = 'answered';
    this.cancelConnect();
    const status = ur.statusCode as number;
    o.onStatus(status);
    const headers = clientResponseHeaders(ur.rawHeaders, o);
    headers.push('Connection', 'close');
    client.write(headLines(status, ur.statusMessage ?? '', headers));
    ur.on('error', () => this.close());
    ur.once('end', () => {
      this.upstream?.destroy();
      lingerClose(client, this.graceMs());
    });
    ur.pipe(client);
  }

  private idleMs(): number {
    return this.o.idleTimeoutMs ?? DEFAULT_UPGRADE_IDLE_TIMEOUT_MS;
  }

  private graceMs(): number {
    return Math.min(this.idleMs(), HALF_CLOSED_GRACE_MS);
  }

  private close(): void {
    this.phase = 'done';
    this.cancelConnect();
    this.upstream?.destroy();
    this.upstreamSocket?.destroy();
    this.client.destroy();
  }
}
