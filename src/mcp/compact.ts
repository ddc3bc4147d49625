/**
 * Results sized for a model's context: a command line can be 4 KiB and a host can have
 * hundreds of listeners, so commands are cut unless asked for in full, and the text part
 * is a summary table rather than the JSON a second time.
 */
import { containerLabel } from '../engine/container-identity.js';
import { displayAddress, type Listener, type ProcessInfo } from '../listener.js';
import { escapeControl } from '../text/escape.js';

/** Command lines are cut at this many characters unless the caller asks for them whole. */
export const COMMAND_CUT = 200;

export type CompactProcess = ProcessInfo & { command_length?: number };

/** The process with its command cut at COMMAND_CUT (ending in …, its whole length in command_length). */
export function compactProcess<P extends ProcessInfo>(p: P, fullCommand: boolean): P & { command_length?: number } {
  if (fullCommand || p.command.length <= COMMAND_CUT) return p;
  return { ...p, command: `${p.command.slice(0, COMMAND_CUT)}…`, command_length: p.command.length };
}

export function compactListener<L extends Listener>(l: L, fullCommand: boolean): L {
  return l.process === null ? l : { ...l, process: compactProcess(l.process, fullCommand) };
}

/** Control and bidi characters made visible, exactly as the CLI shows them (src/text/escape.ts). */
export const visible = escapeControl;

/** `127.0.0.1:80`, `[::1]:3000`, `[fe80::1%eth0]:8080`. */
export function where(l: Pick<Listener, 'family' | 'address' | 'port'> & { interface?: string | null }): string {
  return escapeControl(displayAddress(l));
}

/**
 * One line: `tcp [::1]:3000 node (pid 12) [web]`; with `hostMode` (every namespace) where it
 * listens too: `… in netns 4026532 (container web)`.
 */
export function short(l: Listener, label: string | null, hostMode = false): string {
  const who = l.process ? `${visible(l.process.name)} (pid ${l.process.pid})` : 'unknown process';
  return `${l.protocol} ${where(l)} ${who}${label === null ? '' : ` [${visible(label)}]`}${hostMode ? ` in ${placeOf(l)}` : ''}`;
}

/** Where a listener is, in host mode: `netns 4026532 (container web)`, or `netns 4026531` outside containers. */
export function placeOf(l: Pick<Listener, 'netns' | 'container'>): string {
  const c = l.container;
  return `netns ${l.netns ?? '?'}${c === null || c === undefined ? '' : ` (container ${visible(containerLabel(c))})`}`;
}

/** Aligned columns; the last one is not padded. */
function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/**
 * The listeners as a table for the text part of a result (commands as given: cut or whole);
 * with `hostMode`, NETNS and CONTAINER columns first.
 */
export function listenerTable(
  listeners: readonly (Listener & { label: string | null; ignored?: string | null })[],
  hostMode = false,
): string {
  const withIgnored = listeners.some((l) => l.ignored != null);
  const place = hostMode ? ['NETNS', 'CONTAINER'] : [];
  const header = [...place, 'PROTO', 'ADDRESS', 'PID', 'PROCESS', 'LABEL', ...(withIgnored ? ['IGNORED'] : []), 'COMMAND'];
  const rows = listeners.map((l) => [
    ...(hostMode ? [l.netns ?? '-', l.container ? visible(containerLabel(l.container)) : '-'] : []),
    l.protocol,
    where(l),
    l.process ? String(l.process.pid) : '-',
    l.process ? visible(l.process.name) : '-',
    l.label === null ? '-' : visible(l.label),
    ...(withIgnored ? [l.ignored == null ? '-' : visible(l.ignored)] : []),
    l.process ? visible(l.process.command) : '-',
  ]);
  return table(header, rows);
}
