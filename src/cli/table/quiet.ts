/** `list -q`: ports, or `addr:port` endpoints, one per line, each once, in order. Pure. */
import { compareListeners, displayAddress, type Listener } from '../../listener.js';

export function quietLines(listeners: readonly Listener[], addresses: boolean): string[] {
  if (!addresses) return [...new Set(listeners.map((l) => l.port))].sort((a, b) => a - b).map(String);
  // Ordered as listeners are, protocol aside: port, family, address.
  const byEndpoint = [...listeners].sort((a, b) => compareListeners({ ...a, protocol: 'tcp' }, { ...b, protocol: 'tcp' }));
  return [...new Set(byEndpoint.map((l) => displayAddress(l)))];
}
