/**
 * Small responses portwatch writes itself: security headers, JSON, and error pages (HTML
 * for browsers, plain text for everything else) that say what happened and what to do.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/** Headers on everything portwatch serves itself (not on proxied responses). */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cross-Origin-Opener-Policy': 'same-origin',
};

export const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
const ERROR_PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(text);
}

function wantsHtml(req: IncomingMessage): boolean {
  return /\btext\/html\b/.test(req.headers.accept ?? '');
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  413: 'Content Too Large',
  431: 'Request Header Fields Too Large',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  508: 'Loop Detected',
};

export function statusText(status: number): string {
  return STATUS_TEXT[status] ?? 'Error';
}

export function errorPageHtml(status: number, message: string, hint?: string): string {
  const title = `${status} ${statusText(status)}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · portwatch</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:10vh auto;padding:0 1rem;color:#222}
h1{font-size:1.4rem}p.hint{color:#555}code{background:#f2f2f2;padding:0 .25em;border-radius:3px}
@media (prefers-color-scheme:dark){body{background:#111;color:#ddd}p.hint{color:#aaa}code{background:#222}}</style>
</head><body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p>${hint ? `<p class="hint">${escapeHtml(hint)}</p>` : ''}
<p class="hint">— portwatch</p></body></html>
`;
}

/** An error as HTML for browsers, else one line of text: `portwatch: <message>`. */
export function sendError(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  message: string,
  options: { hint?: string; headers?: Record<string, string> } = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const html = wantsHtml(req);
  const body = html ? errorPageHtml(status, message, options.hint) : `portwatch: ${message}${options.hint ? `\n${options.hint}` : ''}\n`;
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'Content-Type': html ? 'text/html; charset=utf-8' : 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    ...(html ? { 'Content-Security-Policy': ERROR_PAGE_CSP } : {}),
    ...options.headers,
  });
  res.end(body);
}

/** The same for a socket taken over by an Upgrade request: a whole HTTP/1.1 response, then close. */
export function rejectUpgrade(socket: Duplex, status: number, message: string, headers: Record<string, string> = {}): void {
  const body = `portwatch: ${message}\n`;
  const lines = [
    `HTTP/1.1 ${status} ${statusText(status)}`,
    'Content-Type: text/plain; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  if (!socket.writable) return void socket.destroy();
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
  // Read and drop whatever the client still sends, so its FIN is seen, and never hold the fd
  // for long: an unread socket would sit in CLOSE-WAIT.
  socket.on('data', () => {});
  socket.resume();
  const timer = setTimeout(() => socket.destroy(), REJECTED_UPGRADE_GRACE_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}

const REJECTED_UPGRADE_GRACE_MS = 5_000;
