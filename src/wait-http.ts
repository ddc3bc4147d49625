/**
 * One look at a URL for `wait`: a GET on a fresh connection, answered by the status line
 * alone (the body is not read), within a timeout, abortable. It connects to the address the
 * socket table shows listening, while the URL's host stays in the Host header and in TLS
 * (SNI and the certificate check): `localhost` served on ::1 only is reached, whatever
 * `localhost` resolves to first. Never rejects: every outcome is an answer.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';

export interface UrlCheckOptions {
  /** The address to connect to (from the socket table); default: the URL's host. */
  address?: string;
  /** Give up on this attempt after this many ms. */
  timeoutMs: number;
  signal?: AbortSignal;
  /** https: accept a certificate that does not verify (self-signed, wrong name). */
  insecure?: boolean;
  /** Statuses that count as ready; default: any below 500 (wait-on's rule). */
  statuses?: readonly number[];
}

export interface UrlCheck {
  /** The status is one that counts as ready. */
  ok: boolean;
  /** The HTTP status, or null when no response came. */
  status: number | null;
  /** Why no response came (`ECONNREFUSED`, `no answer within 5000 ms`, a TLS error …), or null. */
  error: string | null;
}

/** TLS verification failures: `--insecure` is the way past them. */
const CERT_ERRORS = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME|UNABLE_TO_GET_ISSUER/;

export function statusAccepted(status: number, statuses?: readonly number[]): boolean {
  return statuses === undefined || statuses.length === 0 ? status < 500 : statuses.includes(status);
}

/** What a failed attempt says in a message: the error code, with a hint for certificates and for TLS to a plain server. */
function describeError(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const code = err.code ?? err.message;
  if (CERT_ERRORS.test(code)) return `${code}; --insecure accepts it`;
  // OpenSSL's "wrong version number": what answered is not TLS.
  if (code === 'EPROTO') return `${code}: no TLS there; is it a plain http:// server?`;
  return code;
}

export function checkUrl(url: URL, options: UrlCheckOptions): Promise<UrlCheck> {
  return new Promise((resolve) => {
    const controller = new AbortController();
    let settled = false;
    const finish = (outcome: UrlCheck): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      controller.abort(); // the body is not read: the connection goes with the answer
      resolve(outcome);
    };
    const onAbort = (): void => finish({ ok: false, status: null, error: 'aborted' });
    const timer = setTimeout(
      () => finish({ ok: false, status: null, error: `no answer within ${options.timeoutMs} ms` }),
      options.timeoutMs,
    );
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });

    const secure = url.protocol === 'https:';
    const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const port = url.port === '' ? (secure ? 443 : 80) : Number(url.port);
    const auth = url.username === '' ? undefined : `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
    const request = secure ? httpsRequest : httpRequest;
    const onResponse = (res: IncomingMessage): void => {
      res.on('error', () => {}); // the abort below ends the body unread: not an error of the check
      const status = res.statusCode ?? 0;
      finish({ ok: statusAccepted(status, options.statuses), status, error: null });
    };
    try {
      const req = request(
        {
          method: 'GET',
          host: options.address ?? hostname,
          port,
          path: `${url.pathname}${url.search}`,
          headers: { host: url.host, 'user-agent': 'portwatch-wait', accept: '*/*' },
          agent: false,
          signal: controller.signal,
          ...(auth !== undefined ? { auth } : {}),
          ...(secure ? { servername: isIP(hostname) === 0 ? hostname : '', rejectUnauthorized: options.insecure !== true } : {}),
        },
        onResponse,
      );
      req.on('error', (e) => finish({ ok: false, status: null, error: describeError(e) }));
      req.end();
    } catch (e) {
      finish({ ok: false, status: null, error: describeError(e) });
    }
  });
}
