/**
 * What `portwatch forward` prints for people: one line per forward started or stopped, and
 * per error; onAutoForward decides how loud (silent forwards print nothing, openBrowser
 * opens the host's browser). With --json every event is one NDJSON line instead.
 */
import { spawn, spawnSync } from 'node:child_process';
import { movedReason, type ForwardErrorEvent, type ForwardEvent, type UnforwardEvent } from '../forward/events.js';
import { escapeControl } from '../text/escape.js';

function hostPort(e: { local: { address: string; port: number }[] }): string {
  const first = e.local[0];
  if (first === undefined) return '?';
  return `${first.address.includes(':') ? `[${first.address}]` : first.address}:${first.port}`;
}

/** `portwatch: forwarding 127.0.0.1:5174 → container web :5173 (5173 is taken here) [Vite]` */
export function forwardLine(e: ForwardEvent, target: string): string {
  const also =
    e.local.length > 1
      ? ` (and ${e.local
          .slice(1)
          .map((l) => (l.address.includes(':') ? `[${l.address}]` : l.address))
          .join(', ')})`
      : '';
  const why = movedReason(e);
  const moved = why === null ? '' : ` (${why})`;
  const waiting = e.waiting ? ' (not listening there yet)' : '';
  const label = e.label === null ? '' : ` [${e.label}]`;
  const owner = e.listener?.process ? ` ${e.listener.process.name} (pid ${e.listener.process.pid})` : '';
  return escapeControl(
    `portwatch: forwarding ${hostPort(e)}${also} → ${target} :${e.remote.port}${owner}${label}${moved}${waiting}  ${e.url}`,
  );
}

const REASONS: Record<UnforwardEvent['reason'], string> = {
  closed: 'closed in the target',
  'target-gone': 'the target is gone',
  stopped: 'portwatch is stopping',
};

export function unforwardLine(e: UnforwardEvent, target: string): string {
  return `portwatch: stopped forwarding ${hostPort(e)} → ${target} :${e.remote.port} (${REASONS[e.reason]})`;
}

export function errorLine(e: ForwardErrorEvent): string {
  return escapeControl(`portwatch: ${e.message}`);
}

/** The host's URL opener: xdg-open (Linux, BSD), open (macOS), start (Windows); null when none. */
export function browserOpener(platform = process.platform): { command: string; args: (url: string) => string[] } | null {
  if (platform === 'win32') return { command: 'cmd', args: (url) => ['/c', 'start', '""', url] };
  const command = platform === 'darwin' ? 'open' : 'xdg-open';
  const found = spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
  return found ? { command, args: (url) => [url] } : null;
}

/** Opens `url` in the host's browser, detached; false when there is no opener (print the URL instead). */
export function openBrowser(url: string): boolean {
  const opener = browserOpener();
  if (opener === null) return false;
  const child = spawn(opener.command, opener.args(url), { stdio: 'ignore', detached: true });
  child.on('error', () => undefined);
  child.unref();
  return true;
}
