/**
 * What to do with a port of the target (pure): forward it or not, on which host port, and
 * how loudly. devcontainer.json semantics: `onAutoForward` ignore / silent / notify /
 * openBrowser / openBrowserOnce / openPreview, `requireLocalPort`, `protocol`, `label`;
 * then portwatch's own `--ports` (only these) and `--map REMOTE:LOCAL`.
 */
import type { Listener } from '../listener.js';
import { portInRanges, type PortRange } from '../ports.js';
import type { OnAutoForward, PortAttributes } from '../rules/attributes.js';

export interface ForwardRules {
  filter(listener: Listener): boolean;
  announce(listener: Listener): boolean;
  label(listener: Listener): string | null;
  attributes(listener: Listener): PortAttributes | null;
}

export interface ForwardPolicyOptions {
  rules: ForwardRules;
  /** Only these target ports (`--ports`); null for all. */
  ports: readonly PortRange[] | null;
  /** Target port → host port (`--map`); a mapped port is taken exactly or fails. */
  map: ReadonlyMap<number, number>;
}

export type Notify = Exclude<OnAutoForward, 'ignore'>;

export type ForwardDecision =
  | { forward: false; why: string }
  | {
      forward: true;
      /** The host port to try first. */
      wanted: number;
      /** That port or fail (requireLocalPort, or an explicit --map). */
      exact: boolean;
      notify: Notify;
      scheme: 'http' | 'https';
      label: string | null;
    };

/** A stand-in for a port that does not listen yet (forwardPorts): attributes keyed by port still apply. */
export function placeholderListener(port: number): Listener {
  return {
    protocol: 'tcp',
    family: 4,
    address: '127.0.0.1',
    port,
    dualStack: null,
    interface: null,
    inode: 0,
    uid: 0,
    netns: null,
    process: null,
  };
}

/**
 * The decision for one target port, given the TCP listeners on it there (empty for a
 * forwardPorts entry that does not listen yet). The first listener that passes the
 * rules speaks for the port.
 */
export function decideForward(port: number, listeners: readonly Listener[], options: ForwardPolicyOptions): ForwardDecision {
  if (options.ports !== null && !portInRanges(port, options.ports)) return { forward: false, why: 'not in --ports' };
  const candidates = listeners.length === 0 ? [placeholderListener(port)] : listeners;
  const speaker = candidates.find((l) => l.protocol === 'tcp' && options.rules.filter(l));
  if (speaker === undefined)
    return { forward: false, why: listeners.length === 0 ? 'ignored by the rules' : 'every listener is ignored by the rules' };
  const attributes = options.rules.attributes(speaker);
  const mapped = options.map.get(port);
  const quiet = attributes?.onAutoForward === 'silent' || !options.rules.announce(speaker);
  return {
    forward: true,
    wanted: mapped ?? port,
    exact: mapped !== undefined || attributes?.requireLocalPort === true,
    notify: quiet ? 'silent' : ((attributes?.onAutoForward as Notify | null | undefined) ?? 'notify'),
    scheme: attributes?.protocol ?? 'http',
    label: options.rules.label(speaker),
  };
}

/** `--map 5173:15173,8080:18080` → target port → host port. */
export function parsePortMap(text: string): Map<number, number> | string {
  const map = new Map<number, number>();
  for (const part of text.split(',')) {
    const m = /^\s*(\d{1,5})\s*:\s*(\d{1,5})\s*$/.exec(part);
    const [from, to] = m ? [Number(m[1]), Number(m[2])] : [0, 0];
    if (!m || from < 1 || from > 65535 || to < 1 || to > 65535)
      return `invalid --map '${part.trim()}': use TARGET:HOST port pairs, e.g. 5173:15173,8080:18080`;
    if (map.has(from)) return `invalid --map: port ${from} is mapped twice`;
    map.set(from, to);
  }
  return map;
}
