/**
 * Where, inside the target, a host connection goes (pure). A listener on a wildcard is
 * reached on the target's loopback; one on a specific address, on that address. The host
 * side's family is preferred (a client on ::1 goes to the IPv6 listener), else any.
 */
import type { Listener } from '../listener.js';
import type { TargetAddress } from './connector.js';

function reach(l: Listener): TargetAddress {
  if (l.address === '0.0.0.0') return { address: '127.0.0.1', port: l.port, family: 4 };
  if (l.address === '::') return { address: '::1', port: l.port, family: 6 };
  if (l.family === 6 && l.address.startsWith('fe80:') && l.interface !== null)
    return { address: `${l.address}%${l.interface}`, port: l.port, family: 6 };
  return { address: l.address, port: l.port, family: l.family };
}

const rank = (l: Listener): number =>
  l.address === '0.0.0.0' || l.address === '::' ? 0 : l.address === '127.0.0.1' || l.address === '::1' ? 1 : 2;

/** The address to connect to for a client of `family`, or null when nothing listens. */
export function pickTarget(listeners: readonly Listener[], family: 4 | 6): TargetAddress | null {
  const tcp = listeners.filter((l) => l.protocol === 'tcp');
  if (tcp.length === 0) return null;
  const sameFamily = tcp.filter((l) => l.family === family);
  const pool = sameFamily.length > 0 ? sameFamily : tcp;
  const best = [...pool].sort((a, b) => rank(a) - rank(b))[0]!;
  return reach(best);
}

/** Does any listener accept IPv6 (so the host side should listen on ::1 too)? */
export function wantsIPv6(listeners: readonly Listener[]): boolean {
  return listeners.some((l) => l.protocol === 'tcp' && l.family === 6);
}
