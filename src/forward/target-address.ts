/**
 * Where, inside the target, a host connection goes (pure): an ordered list of addresses to
 * try. A listener on a wildcard is reached on the target's loopback; one on a specific
 * address, on that address. The host side's family comes first (a client on ::1 goes to
 * the IPv6 listener), then the rest. A dual-stack `::` listener is also reachable on
 * 127.0.0.1 — which matters where the target has no IPv6 loopback at all (Docker turns
 * IPv6 off in containers by default, yet `::` sockets still take IPv4).
 */
import type { Listener } from '../listener.js';
import type { TargetAddress } from './connector.js';

function reach(l: Listener): TargetAddress[] {
  if (l.address === '0.0.0.0') return [{ address: '127.0.0.1', port: l.port, family: 4 }];
  if (l.address === '::') {
    const v6: TargetAddress = { address: '::1', port: l.port, family: 6 };
    return l.dualStack === false ? [v6] : [v6, { address: '127.0.0.1', port: l.port, family: 4 }];
  }
  if (l.family === 6 && l.address.startsWith('fe80:') && l.interface !== null)
    return [{ address: `${l.address}%${l.interface}`, port: l.port, family: 6 }];
  return [{ address: l.address, port: l.port, family: l.family }];
}

const rank = (l: Listener): number =>
  l.address === '0.0.0.0' || l.address === '::' ? 0 : l.address === '127.0.0.1' || l.address === '::1' ? 1 : 2;

/** Addresses to try in order for a client of `family`; empty when nothing listens. */
export function targetCandidates(listeners: readonly Listener[], family: 4 | 6): TargetAddress[] {
  const tcp = [...listeners].filter((l) => l.protocol === 'tcp').sort((a, b) => rank(a) - rank(b));
  const all = tcp.flatMap(reach);
  const ordered = [...all.filter((t) => t.family === family), ...all.filter((t) => t.family !== family)];
  const seen = new Set<string>();
  return ordered.filter((t) => {
    const key = `${t.address}|${t.port}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Does any listener accept IPv6 (so the host side should listen on ::1 too)? */
export function wantsIPv6(listeners: readonly Listener[]): boolean {
  return listeners.some((l) => l.protocol === 'tcp' && l.family === 6);
}
