/**
 * The token of `portwatch serve`, for serve itself and for `forward URL` that talks to it:
 * --token, --token-file, or PORTWATCH_TOKEN.
 */
import { PortwatchError } from '../errors.js';
import { readAtMost, type AtMost } from '../owners/read-bounded.js';

/** A token is a line; 64 KiB is far more than any secret manager hands out. */
export const TOKEN_FILE_MAX_BYTES = 64 * 1024;

function checkToken(token: string, from: string): string {
  if (token === '') throw new PortwatchError('EUSAGE', `the token from ${from} is empty`);
  if (/[\s\p{Cc}]/u.test(token)) throw new PortwatchError('EUSAGE', `the token from ${from} must not contain spaces or control characters`);
  return token;
}

/** --token, --token-file (one of them), else the PORTWATCH_TOKEN environment variable, else none. */
export function resolveToken(opts: { token?: string; tokenFile?: string }, env: NodeJS.ProcessEnv = process.env): string | null {
  if (opts.token !== undefined && opts.tokenFile !== undefined)
    throw new PortwatchError('EUSAGE', '--token and --token-file cannot be used together');
  if (opts.token !== undefined) return checkToken(opts.token, '--token');
  if (opts.tokenFile !== undefined) {
    let read: AtMost;
    try {
      // Bounded by the read itself: /dev/zero or a FIFO would otherwise be read until memory runs out.
      read = readAtMost(opts.tokenFile, TOKEN_FILE_MAX_BYTES);
    } catch (e) {
      throw new PortwatchError(
        'EUSAGE',
        `cannot read --token-file '${opts.tokenFile}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
    }
    if (read.more)
      throw new PortwatchError(
        'EUSAGE',
        `--token-file '${opts.tokenFile}' is larger than ${TOKEN_FILE_MAX_BYTES / 1024} KiB: it should hold only the token`,
      );
    const text = read.bytes.toString('utf8');
    return checkToken(text.replace(/\r?\n$/, ''), `--token-file '${opts.tokenFile}'`);
  }
  const fromEnv = env.PORTWATCH_TOKEN;
  return fromEnv === undefined || fromEnv === '' ? null : checkToken(fromEnv, 'PORTWATCH_TOKEN');
}
