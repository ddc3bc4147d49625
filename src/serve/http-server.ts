/**
 * serve's HTTP server: its limits, so that no client holds connections (and so file
 * descriptors) for free, and binding it where the options say — refused when what was bound
 * (not the name given: /etc/hosts may map `localhost` elsewhere) would expose serve to the
 * network without a token.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PortwatchError } from '../errors.js';
import { checkExposure, defaultMaxConnections, resolveListenHost } from './bind-address.js';
import { isLoopbackHost, urlHost } from './listen-address.js';
import type { ServeServerOptions } from './serve-options.js';

const DEFAULT_MAX_HEADER_BYTES = 16 * 1024;

/** An HTTP server with serve's limits; nothing listens yet. */
export function createHttpServer(options: ServeServerOptions): Server {
  const http = createServer({ maxHeaderSize: options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES, noDelay: true });
  http.headersTimeout = 30_000;
  // No client may hold connections (and so file descriptors) for free: idle ones are closed,
  // and beyond the limit new ones are refused, so that serve keeps fds for its own work.
  http.timeout = options.idleTimeoutMs ?? 120_000;
  http.keepAliveTimeout = Math.min(5_000, http.timeout);
  http.maxConnections = options.maxConnections ?? defaultMaxConnections();
  return http;
}

/**
 * Listens on what `named` stands for. Throws PortwatchError('EUSAGE') when that cannot be
 * done, or when, without a token, what was bound is not loopback (then nothing listens).
 */
export async function listenHttp(http: Server, named: string, port: number, token: string | null): Promise<AddressInfo> {
  try {
    const host = await resolveListenHost(named);
    // What is bound decides, not the text: /etc/hosts may map `localhost` elsewhere.
    if (host !== named) checkExposure(`${host} (${named})`, token);
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen({ host, port }, () => {
        http.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    if (e instanceof PortwatchError) throw e;
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'EADDRINUSE' ? 'the address is in use' : err.code === 'EADDRNOTAVAIL' ? 'no such local address' : err.message;
    throw new PortwatchError('EUSAGE', `cannot listen on ${urlHost(named)}:${port}: ${why}`, { cause: e });
  }
  const bound = http.address() as AddressInfo;
  if (token === null && !isLoopbackHost(bound.address)) {
    await new Promise<void>((resolve) => http.close(() => resolve()));
    checkExposure(bound.address, null);
  }
  return bound;
}
