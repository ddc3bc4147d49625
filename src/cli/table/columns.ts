/**
 * What each row says, field by field, and the fixed-width table:
 * [NETNS] [CONTAINER] PROTO ADDRESS:PORT PID USER PROCESS [LABEL] COMMAND. Every cell another process chose
 * (names, command lines, labels from a config) goes through escapeControl, so a row stays
 * one line. Pure apart from the uid → name function it is given.
 */
import { containerLabel } from '../../engine/container-identity.js';
import { escapeControl } from '../../text/escape.js';
import { lead, rowAddresses, rowEndpoint, rowProto, type Row } from './group-rows.js';

/** A uid as people read it; the default is the number itself. */
export type UserName = (uid: number) => string;

export const numericUser: UserName = (uid) => String(uid);

/** The fields of a row, escaped for a terminal. `-` stands for what is not known. */
export interface RowFields {
  /** `tcp` or `udp`. */
  Protocol: string;
  /** `tcp`, `tcp6`, `tcp46` (both families in one row). */
  Proto: string;
  Port: string;
  /** Addresses without the port: `127.0.0.1,::1`. */
  Address: string;
  /** The ADDRESS:PORT column: `127.0.0.1,[::1]:8080`. */
  Endpoint: string;
  Pid: string;
  User: string;
  Process: string;
  /** Empty when the owner is unknown. */
  Command: string;
  Label: string;
  /** The network namespace's inode; `-` when unknown. */
  Netns: string;
  /** The container's name, else its short id; `-` on the host or when unknown. */
  Container: string;
}

export function rowFields(row: Row, userName: UserName = numericUser): RowFields {
  const l = lead(row);
  const p = l.process;
  return {
    Protocol: l.protocol,
    Proto: rowProto(row),
    Port: String(l.port),
    Address: escapeControl(rowAddresses(row)),
    Endpoint: escapeControl(rowEndpoint(row)),
    Pid: p ? String(p.pid) : '-',
    User: escapeControl(userName(l.uid)),
    Process: p ? escapeControl(p.name) : '-',
    Command: p ? escapeControl(p.command) : '',
    Label: row.label === null ? '-' : escapeControl(row.label),
    Netns: l.netns ?? '-',
    Container: l.container ? escapeControl(containerLabel(l.container)) : '-',
  };
}

export interface TableStyle {
  /** Bold header. */
  color: boolean;
  /** Cut each line to this many characters; undefined, 0 or NaN: never cut (pipes, --no-trunc). */
  width: number | undefined;
}

export function cut(line: string, width: number | undefined): string {
  if (width === undefined || !(width > 0) || line.length <= width) return line;
  return width > 1 ? `${line.slice(0, width - 1)}…` : line.slice(0, width);
}

/** Aligns cells in columns two spaces apart; the last column is not padded. */
export function alignColumns(lines: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const cells of lines) cells.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return lines.map((cells) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

/**
 * The table; the LABEL column appears when at least one row has a label, CONTAINER when at
 * least one listener is in a container, NETNS when asked (every namespace: `-A`).
 */
export function renderTable(rows: readonly Row[], style: TableStyle, userName: UserName = numericUser, netns = false): string {
  const withLabels = rows.some((r) => r.label !== null);
  const withContainers = rows.some((r) => r.listeners.some((l) => l.container));
  const cells = rows.map((row) => {
    const f = rowFields(row, userName);
    const where = [...(netns ? [f.Netns] : []), ...(withContainers ? [f.Container] : [])];
    return [...where, f.Proto, f.Endpoint, f.Pid, f.User, f.Process, ...(withLabels ? [f.Label] : []), f.Command];
  });
  const where = [...(netns ? ['NETNS'] : []), ...(withContainers ? ['CONTAINER'] : [])];
  const header = [...where, 'PROTO', 'ADDRESS:PORT', 'PID', 'USER', 'PROCESS', ...(withLabels ? ['LABEL'] : []), 'COMMAND'];
  const [head = '', ...body] = alignColumns([header, ...cells]).map((line) => cut(line, style.width));
  return [style.color ? `\u001b[1m${head}\u001b[0m` : head, ...body].join('\n');
}
