/**
 * Readiness for `run --ready`: a list of ports (every one must listen, TCP or UDP) or `any`
 * (the first listener the rules do not ignore). Pure.
 */
import type { Listener } from '../listener.js';
import { PortwatchError } from '../errors.js';
import { parsePortList } from '../ports.js';
import { isWildcard } from '../parse/address.js';

export type ReadySpec = { kind: 'any' } | { kind: 'ports'; ports: number[] };

export function parseReadySpec(text: string): ReadySpec {
  if (text.trim().toLowerCase() === 'any') return { kind: 'any' };
  try {
    return { kind: 'ports', ports: parsePortList(text) };
  } catch (e) {
    throw new PortwatchError('EUSAGE', `invalid --ready '${text}': use a port, ports like 3000,5173, or 'any'`, { cause: e });
  }
}

export function describeReadySpec(spec: ReadySpec): string {
  if (spec.kind === 'any') return 'any port';
  return `port${spec.ports.length > 1 ? 's' : ''} ${spec.ports.join(', ')}`;
}

/**
 * The listeners that make the tree ready, or null when it is not ready yet. `counts` says
 * which listeners `any` may pick (those the rules do not ignore); named ports always count.
 */
export function readyListeners(spec: ReadySpec, listeners: readonly Listener[], counts: (l: Listener) => boolean): Listener[] | null {
  if (spec.kind === 'any') {
    const first = listeners.find(counts);
    return first ? [first] : null;
  }
  const found = spec.ports.map((p) => listeners.filter((l) => l.port === p));
  return found.every((f) => f.length > 0) ? found.flat() : null;
}

/** `http://localhost:5173/` for a wildcard listener, `http://[::1]:5173/`, `http://127.0.0.1:5173/`. */
export function urlHost(l: Listener): string {
  if (isWildcard(l.address)) return 'localhost';
  return l.family === 6 ? `[${l.address}]` : l.address;
}

export function listenerUrl(l: Listener): string {
  return `http://${urlHost(l)}:${l.port}/`;
}
