/**
 * Where serve may listen: the address a --listen name stands for, whether it may be exposed
 * without a token (judged on the address bound, not the text), and how many connections it
 * takes at a time.
 */
import { readFileSync } from 'node:fs';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { PortwatchError } from '../errors.js';
import { isLoopbackHost } from './listen-address.js';

/** A quarter of the soft open-file limit (each proxied connection takes two), within 64–16384. */
export function defaultMaxConnections(): number {
  let limit = 1024;
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (m?.[1]) limit = Number(m[1]);
  } catch {
    // not Linux: keep the common default
  }
  return Math.max(64, Math.min(16_384, Math.floor(limit / 4)));
}

/** The address a --listen host name stands for (Node would bind the first one getaddrinfo returns), or EUSAGE. */
export async function resolveListenHost(host: string): Promise<string> {
  const bare = host.replace(/^\[|\]$/g, '');
  if (isIP(bare) !== 0) return bare;
  try {
    return (await lookup(bare)).address;
  } catch (e) {
    throw new PortwatchError(
      'EUSAGE',
      `invalid --listen address '${host}': the name does not resolve (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
      {
        cause: e,
      },
    );
  }
}

/** Refuses a configuration that would expose the page (command lines) and the proxy to the network without a token. */
export function checkExposure(host: string, token: string | null | undefined): void {
  if (token !== null && token !== undefined) return;
  if (!isLoopbackHost(host)) {
    throw new PortwatchError(
      'EUSAGE',
      `refusing to listen on ${host} without a token: the page shows command lines and the proxy reaches local servers; ` +
        'give --token or --token-file (or listen on 127.0.0.1)',
    );
  }
}
