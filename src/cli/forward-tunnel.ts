/**
 * `portwatch forward http://HOST:PORT`: through a `portwatch serve` in the target.
 */
import { PortwatchError } from '../errors.js';
import type { ForwarderOptions } from '../forward/forwarder.js';
import { forwardThroughServeUrl } from '../forward/forward-serve.js';
import type { ForwardTarget, RawTargetChoice } from './forward-targets.js';
import { resolveToken } from './token.js';

export function parseServeUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new PortwatchError('EUSAGE', `invalid URL '${text}': give the address of a portwatch serve, e.g. http://127.0.0.1:4040`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new PortwatchError('EUSAGE', `invalid URL '${text}': use http:// or https:// (the address of a portwatch serve)`);
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '')
    throw new PortwatchError(
      'EUSAGE',
      `invalid URL '${text}': give only scheme, host, port and path; the token goes in --token or --token-file`,
    );
  return url;
}

export async function forwardThroughServe(
  text: string,
  raw: RawTargetChoice,
  options: Omit<ForwarderOptions, 'connector'>,
): Promise<ForwardTarget> {
  const base = parseServeUrl(text);
  const token = resolveToken(raw);
  const session = forwardThroughServeUrl({ ...options, base, token });
  session.feed.on('disconnected', (why) => process.stderr.write(`portwatch: lost ${base.origin} (${why}); reconnecting\n`));
  return {
    name: base.origin,
    events: session.forwarder,
    ended: session.ended,
    close: async () => session.close(),
  };
}
