/**
 * How listeners and events look on a terminal or in a pipe. Every piece of text another
 * process chose (its name, command line, a label from a config file) goes through
 * escapeControl, so it can neither act on the terminal nor split a row; JSON keeps it exact.
 */
import { displayAddress, type Listener, type PortEvent } from '../listener.js';
import type { ChangeEvent } from '../watch/watcher.js';
import type { UpdateEvent } from '../watch/watch-types.js';
import { labelEvent, withLabel, type LabelledListener, type LabelledPortEvent, type Rules } from '../rules/index.js';
import { describeListener, type LabelOf } from '../text/describe.js';
import { escapeControl } from '../text/escape.js';
import { PortwatchError } from '../errors.js';
import { containerLabel } from '../engine/container-identity.js';
import type { NamespaceEvent } from '../engine/host-watch-types.js';
import { cut, renderTable, type UserName } from './table/columns.js';
import { groupRows } from './table/group-rows.js';

export { describeListener, type LabelOf };

export interface Style {
  color: boolean;
  /** Terminal width to cut lines at; undefined, 0 or NaN means never cut (pipes, ptys that report no size). */
  width: number | undefined;
}

export const COLOR_CHOICES = ['auto', 'always', 'never'] as const;
export type ColorChoice = (typeof COLOR_CHOICES)[number];

/**
 * Colours: `--color always|never` decides; with `auto` (the default), FORCE_COLOR (any value
 * but `0` or `false`) turns them on, NO_COLOR (https://no-color.org) off, and otherwise only
 * a terminal gets them.
 */
export function styleFor(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env, choice: ColorChoice = 'auto'): Style {
  // Some CI runners and `script` give a pty 0 columns: that is "unknown", not "nothing fits".
  const width = stream.isTTY && stream.columns > 0 ? stream.columns : undefined;
  return { color: wantsColor(stream, env, choice), width };
}

function wantsColor(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv, choice: ColorChoice): boolean {
  if (choice !== 'auto') return choice === 'always';
  const force = env.FORCE_COLOR;
  if (force !== undefined) return force !== '0' && force.toLowerCase() !== 'false';
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return Boolean(stream.isTTY);
}

/** `--color WHEN` as typed, or EUSAGE. */
export function parseColorChoice(text: string | undefined): ColorChoice {
  if (text === undefined) return 'auto';
  if ((COLOR_CHOICES as readonly string[]).includes(text)) return text as ColorChoice;
  throw new PortwatchError('EUSAGE', `invalid --color '${text}': use auto, always or never`);
}

const CODES = { green: 32, red: 31 } as const;
function paint(style: Style, code: keyof typeof CODES, text: string): string {
  return style.color ? `\u001b[${CODES[code]}m${text}\u001b[0m` : text;
}

export function endpoint(l: Listener): string {
  return displayAddress(l);
}

export interface TableOptions {
  /** Join the sockets one process holds on one port into one row (default true; `--no-group`). */
  group?: boolean;
  /** The USER column: uid → name (default: the number). */
  userName?: UserName;
  /** A NETNS column (every namespace: `-A`). */
  netns?: boolean;
}

/**
 * Fixed-width table: PROTO ADDRESS:PORT PID USER PROCESS [LABEL] COMMAND, each line cut to
 * the width. The LABEL column appears when at least one listener has a label. The sockets
 * of one process on one port are one row (`tcp46  127.0.0.1,[::1]:8080`) unless
 * `group` is false.
 */
export function formatTable(listeners: readonly Listener[], style: Style, labelOf?: LabelOf, options: TableOptions = {}): string {
  const rows = groupRows(listeners, { group: options.group ?? true, labelOf });
  return renderTable(rows, style, options.userName, options.netns ?? false);
}

function clock(iso: string): string {
  const d = new Date(iso);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

/** Where a listener lives, for event lines: ` netns=N container=NAME` (each when asked or known). */
function whereText(l: Listener, netns: boolean): string {
  const ns = netns && l.netns !== null ? ` netns=${l.netns}` : '';
  return l.container ? `${ns} container=${escapeControl(containerLabel(l.container))}` : ns;
}

/** `12:00:01.234 + tcp  127.0.0.1:3000  4242 node [label]`; with `netns` (-A) and containers: ` netns=N container=NAME`. */
export function formatEvent(e: PortEvent | UpdateEvent, style: Style, labelOf?: LabelOf, options: { netns?: boolean } = {}): string {
  const l = e.listener;
  // `~`: a listener announced before, now better known (its owner, its container).
  const sign = e.type === 'open' ? paint(style, 'green', '+') : e.type === 'close' ? paint(style, 'red', '-') : '~';
  const proto = (l.family === 6 ? `${l.protocol}6` : l.protocol).padEnd(4);
  const owner = l.process ? `${l.process.pid} ${escapeControl(l.process.name)}` : '-';
  const label = labelOf?.(l) ?? null;
  const where = whereText(l, options.netns ?? false);
  const text = `${clock(e.time)} ${sign} ${proto} ${escapeControl(endpoint(l)).padEnd(21)} ${owner}${label === null ? '' : ` [${escapeControl(label)}]`}${where}`;
  return style.color ? text : cut(text, style.width);
}

/** `12:00:01.234 + netns 4026532177 container=web`: a network namespace came or went (-A). */
export function formatNamespaceEvent(e: NamespaceEvent, style: Style): string {
  const sign = e.type === 'namespace-open' ? paint(style, 'green', '+') : paint(style, 'red', '-');
  const container = e.container === null ? '' : ` container=${escapeControl(containerLabel(e.container))}`;
  const text = `${clock(e.time)} ${sign} netns ${e.netns}${container}`;
  return style.color ? text : cut(text, style.width);
}

/**
 * Listeners and events as JSON: with a `label` field (string or null) whenever a config
 * file is in use, so a given config always gives the same shape; without one, exactly
 * the Listener and PortEvent of the library.
 */
export function jsonListener(l: Listener, rules: Pick<Rules, 'file' | 'label'>): Listener | LabelledListener {
  return rules.file === null ? l : withLabel(l, rules);
}

export function jsonEvent(e: PortEvent, rules: Pick<Rules, 'file' | 'label'>): PortEvent | LabelledPortEvent {
  return rules.file === null ? e : labelEvent(e, rules);
}

/**
 * `watch --json --batch`: one JSON line per scan that changed anything announced,
 * `{"time","opened":[…],"closed":[…]}`; null when nothing in the change is announced.
 */
export function batchLine(change: ChangeEvent, rules: Pick<Rules, 'file' | 'label' | 'announce'>): string | null {
  const opened = change.opened.filter((l) => rules.announce(l));
  const closed = change.closed.filter((l) => rules.announce(l));
  if (opened.length === 0 && closed.length === 0) return null;
  const json = (ls: Listener[]): unknown[] => ls.map((l) => jsonListener(l, rules));
  return JSON.stringify({ time: change.time, opened: json(opened), closed: json(closed) });
}
