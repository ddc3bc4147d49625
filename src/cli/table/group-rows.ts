/**
 * Rows of a table, as VS Code's Ports view shows them: the sockets one process holds on one
 * port (127.0.0.1 and ::1, or 0.0.0.0 and ::) are one row listing every address. Pure.
 *
 * Sockets share a row when they agree on network namespace, protocol (tcp with tcp6, udp
 * with udp6), port, owning pid, socket uid and label. A socket whose owner is unknown has a
 * row of its own: without a pid nothing says two sockets belong to one server (dnsmasq on
 * 127.0.0.1:53 and systemd-resolved on 127.0.0.53:53 are both "root, pid unknown").
 */
import { displayAddress, type Listener } from '../../listener.js';
import type { LabelOf } from '../../text/describe.js';

/** One row: one socket, or several sockets of one process on one port, in the order given. */
export interface Row {
  /** Never empty. */
  readonly listeners: readonly Listener[];
  readonly label: string | null;
}

export interface GroupOptions {
  /** False: one row per socket (`--no-group`). Default true. */
  group?: boolean;
  labelOf?: LabelOf | undefined;
}

function groupKey(l: Listener, pid: number, label: string | null): string {
  return JSON.stringify([l.netns, l.protocol, l.port, pid, l.uid, label]);
}

/** Listeners (already in display order) → rows; a row takes the place of its first socket. */
export function groupRows(listeners: readonly Listener[], options: GroupOptions = {}): Row[] {
  const rows: { listeners: Listener[]; label: string | null }[] = [];
  const byKey = new Map<string, { listeners: Listener[]; label: string | null }>();
  for (const l of listeners) {
    const label = options.labelOf?.(l) ?? null;
    const key = options.group === false || l.process === null ? null : groupKey(l, l.process.pid, label);
    const same = key === null ? undefined : byKey.get(key);
    if (same) {
      same.listeners.push(l);
      continue;
    }
    const row = { listeners: [l], label };
    rows.push(row);
    if (key !== null) byKey.set(key, row);
  }
  return rows;
}

/** The first socket of a row: its owner, uid and port are the row's. */
export function lead(row: Row): Listener {
  return row.listeners[0] as Listener;
}

/** `tcp`, `tcp6`, or `tcp46` when the row has sockets of both families (as BSD netstat says it). */
export function rowProto(row: Row): string {
  const l = lead(row);
  const has4 = row.listeners.some((x) => x.family === 4);
  const has6 = row.listeners.some((x) => x.family === 6);
  return has4 && has6 ? `${l.protocol}46` : has6 ? `${l.protocol}6` : l.protocol;
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

/** Hosts as written before `:port`: `127.0.0.1`, `[::1]`, `0.0.0.0%lo`. */
function hostOf(l: Listener): string {
  const text = displayAddress(l);
  return text.slice(0, text.length - String(l.port).length - 1);
}

/** `127.0.0.1:8080`, or every address of the row: `127.0.0.1,[::1]:8080`. */
export function rowEndpoint(row: Row): string {
  return `${unique(row.listeners.map(hostOf)).join(',')}:${lead(row).port}`;
}

/** The addresses alone, without brackets: `127.0.0.1,::1`, `fe80::1%eth0`. */
export function rowAddresses(row: Row): string {
  return unique(row.listeners.map((l) => (l.interface ? `${l.address}%${l.interface}` : l.address))).join(',');
}
