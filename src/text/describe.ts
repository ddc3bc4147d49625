/** One listener in a sentence, for human-readable lines (the CLI, `run`'s reports). */
import { displayAddress, type Listener } from '../listener.js';
import { escapeControl } from './escape.js';

/** What a listener is called, if anything (rules' `label`). */
export type LabelOf = (l: Listener) => string | null;

/** `tcp 127.0.0.1:5173 node (pid 123) [Vite]`: one listener in a sentence. */
export function describeListener(l: Listener, labelOf?: LabelOf): string {
  const proto = l.family === 6 ? `${l.protocol}6` : l.protocol;
  const owner = l.process ? ` ${l.process.name} (pid ${l.process.pid})` : ' (process unknown)';
  const label = labelOf?.(l) ?? null;
  return escapeControl(`${proto} ${displayAddress(l)}${owner}${label === null ? '' : ` [${label}]`}`);
}
