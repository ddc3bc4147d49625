/**
 * What COMMAND's output tells `portwatch run`. Its stdout and stderr pass through to ours
 * (teeOutput); URLs and "port N" in them ask the watcher for a scan at once, and for a few
 * follow-ups while a hinted port has not appeared (HintFollowUps): a hint never reports a
 * port, the socket table stays the truth. drained() lets the last output through at the end.
 */
import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';
import type { Listener } from '../listener.js';
import type { PortWatcher } from '../watch/watcher.js';
import { HintScanner, type PortHint } from './url-hints.js';

/** Follow-up rescans after a hint, while the hinted port has not shown up (ms after the previous). */
export const HINT_FOLLOW_UPS_MS = [100, 300, 1_000, 3_000] as const;

export class HintFollowUps {
  private readonly hinted = new Set<number>(); // ports hinted at in the output that have not appeared yet
  private followUp: NodeJS.Timeout | null = null;

  constructor(private readonly watcher: Pick<PortWatcher, 'snapshot' | 'rescan'>) {}

  /** Hints from the output: a scan now for ports not listening yet, and follow-ups. */
  push(hints: PortHint[]): void {
    if (hints.length === 0) return;
    const known = new Set(this.watcher.snapshot().map((l) => l.port));
    const fresh = hints.filter((h) => !known.has(h.port));
    if (fresh.length === 0) return;
    for (const h of fresh) this.hinted.add(h.port);
    this.watcher.rescan();
    this.arm(0);
  }

  /** Listeners that opened: their ports need no more follow-ups. */
  opened(listeners: readonly Listener[]): void {
    for (const l of listeners) this.hinted.delete(l.port);
  }

  stop(): void {
    if (this.followUp) clearTimeout(this.followUp);
  }

  private arm(step: number): void {
    if (this.followUp) clearTimeout(this.followUp);
    this.followUp = null;
    const delay = HINT_FOLLOW_UPS_MS[step];
    if (delay === undefined || this.hinted.size === 0) {
      this.hinted.clear();
      return;
    }
    this.followUp = setTimeout(() => {
      this.followUp = null;
      if (this.hinted.size === 0) return;
      this.watcher.rescan();
      this.arm(step + 1);
    }, delay);
  }
}

/** Passes `from` through to `to` and hands what hints it carries to `onHints`; `host` is this machine's name. */
export function teeOutput(from: Readable | null, to: NodeJS.WriteStream, host: string, onHints: (hints: PortHint[]) => void): void {
  if (from === null) return;
  const decoder = new StringDecoder('utf8');
  const scanner = new HintScanner(host);
  from.pipe(to, { end: false });
  // Our reader went away (`portwatch run … | head`): stop reading, as a shell pipe would,
  // so COMMAND gets EPIPE / SIGPIPE on its next write instead of portwatch dying.
  to.once('error', () => {
    from.unpipe(to);
    from.destroy();
  });
  from.on('data', (chunk: Buffer) => onHints(scanner.push(decoder.write(chunk))));
  from.on('end', () => onHints(scanner.push(decoder.end()).concat(scanner.flush())));
}

/** Resolves on the end of both streams, or after `ms` (an orphan may hold them open forever). */
export function drained(streams: (Readable | null)[], ms: number): Promise<void> {
  const open = streams.filter((s): s is Readable => s !== null && !s.readableEnded && !s.destroyed);
  if (open.length === 0) return Promise.resolve();
  return new Promise((resolve) => {
    let left = open.length;
    const timer = setTimeout(resolve, ms);
    for (const s of open)
      s.once('close', () => {
        if (--left === 0) {
          clearTimeout(timer);
          resolve();
        }
      });
  });
}
