/**
 * What `portwatch run` reports, as NDJSON (`--events FILE`) or as `portwatch: …` lines on
 * stderr. PortEvents (`open`/`close`) keep the library's shape; the rest are run's own.
 */
import type { Listener, PortEvent } from '../listener.js';
import { describeListener, type LabelOf } from '../text/describe.js';
import { escapeControl } from '../text/escape.js';

export type RunEvent =
  | PortEvent
  /** The --ready condition holds: the listeners that made it so. */
  | { type: 'ready'; time: string; listeners: Listener[] }
  /** COMMAND exited and a descendant still holds this listener. */
  | { type: 'orphan'; time: string; listener: Listener }
  /** --timeout passed before --ready held; COMMAND is being stopped. */
  | { type: 'timeout'; time: string; message: string }
  /** A process of the tree was still there after SIGTERM, the grace period and SIGKILL. */
  | { type: 'still-running'; time: string; pid: number; name: string }
  /** The --ready-exec command ended. */
  | { type: 'ready-exec'; time: string; command: string[]; code: number | null; signal: string | null }
  /** COMMAND ended; portwatch exits with this status. */
  | { type: 'exit'; time: string; code: number | null; signal: string | null };

export type Reporter = (event: RunEvent) => void;

function quoteWords(words: readonly string[]): string {
  return words.map((w) => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** The `portwatch: …` line for an event, or null for events that are not worth a line. */
export function formatRunEvent(e: RunEvent, commandName: string, labelOf?: LabelOf): string | null {
  switch (e.type) {
    case 'open':
      return `portwatch: + ${describeListener(e.listener, labelOf)}`;
    case 'close':
      return `portwatch: - ${describeListener(e.listener, labelOf)}`;
    case 'ready':
      return `portwatch: ready: ${e.listeners.map((l) => describeListener(l, labelOf)).join(', ')}`;
    case 'orphan':
      return `portwatch: still listening after ${commandName} exited: ${describeListener(e.listener, labelOf)}`;
    case 'timeout':
      return `portwatch: ${e.message}`;
    case 'still-running':
      return `portwatch: still running after stop: pid ${e.pid} (${escapeControl(e.name)})`;
    case 'ready-exec':
      if (e.code === 0) return null;
      return `portwatch: --ready-exec ${quoteWords(e.command)} ${e.signal !== null ? `was killed by ${e.signal}` : `exited with code ${e.code}`}`;
    case 'exit':
      return null;
  }
}
