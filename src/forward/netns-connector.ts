/**
 * Direct mode: each outbound socket is created inside the target network namespace by the
 * native addon (setns() on the calling thread for the socket() call only, then back), and
 * handed to Node as an fd. The connection is then an ordinary net.Socket in this process:
 * no helper process, no second copy of the bytes. A listener bound to the target's own
 * 127.0.0.1 is reachable this way, since loopback is per namespace.
 *
 * Needs CAP_SYS_ADMIN over the target's user namespace (root on the host, for containers).
 */
import net from 'node:net';
import { PortwatchError } from '../errors.js';
import { loadSockDiagAddon, sockDiagUnavailableReason } from '../sources/sock-diag-addon.js';
import type { Connector, TargetAddress } from './connector.js';

export interface NetnsConnectorOptions {
  /** e.g. /proc/<pid>/ns/net; read again for every connection, so a dead target fails cleanly. */
  netnsPath: string;
  /** Give up on a connect() that neither succeeds nor fails within this time (ms). */
  connectTimeoutMs?: number;
}

/** Why direct mode cannot work here, or null when it can (the addon loads and we may setns). */
export function netnsConnectorUnavailable(): string | null {
  if (process.platform !== 'linux') return 'direct mode needs Linux (use: portwatch forward http://HOST:PORT through serve)';
  const addon = loadSockDiagAddon();
  if (addon === null) return `the native addon is not available (${sockDiagUnavailableReason() ?? 'unknown'})`;
  if (typeof addon.streamSocketIn !== 'function') return 'the native addon is out of date (no streamSocketIn); run npm run build:native';
  return null;
}

export function createNetnsConnector(options: NetnsConnectorOptions): Connector {
  const why = netnsConnectorUnavailable();
  if (why !== null) throw new PortwatchError('ESOURCE_UNAVAILABLE', why);
  const addon = loadSockDiagAddon()!;
  const timeoutMs = options.connectTimeoutMs ?? 10_000;
  return {
    kind: 'netns',
    connect(to: TargetAddress, signal?: AbortSignal): Promise<net.Socket> {
      let fd: number;
      try {
        fd = addon.streamSocketIn!(options.netnsPath, to.family);
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        const hint = err.code === 'EPERM' ? ' (entering another network namespace needs root or CAP_SYS_ADMIN)' : '';
        return Promise.reject(new Error(`cannot make a socket in ${options.netnsPath}: ${err.code ?? err.message}${hint}`));
      }
      return new Promise((resolve, reject) => {
        const socket = new net.Socket({ fd, allowHalfOpen: true, readable: true, writable: true });
        const fail = (e: Error): void => {
          cleanup();
          socket.destroy();
          reject(e);
        };
        const onAbort = (): void => fail(new Error('aborted'));
        const timer = setTimeout(() => fail(new Error(`connect to ${to.address}:${to.port} timed out`)), timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          socket.off('error', fail);
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        socket.once('error', fail);
        socket.connect(to.port, to.address, () => {
          cleanup();
          resolve(socket);
        });
      });
    },
  };
}
