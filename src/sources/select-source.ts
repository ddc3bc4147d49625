/**
 * Which way to read sockets: the one place a source is chosen by name (`--source`, the
 * library's `source` option). `auto` picks the cheapest that works here.
 */
import { geteuid } from 'node:process';
import { PortwatchError } from '../errors.js';
import { createProcNetSource } from './proc-net.js';
import { sockDiagUnavailableReason } from './sock-diag-addon.js';
import { createSockDiagSource } from './sock-diag.js';
import type { Source, SourceName } from './source.js';
import { createSsSource } from './ss.js';

export type SourceChoice = SourceName | 'auto';
export const SOURCE_CHOICES: readonly SourceChoice[] = ['auto', 'sockdiag', 'procfs', 'ss'];

function unavailable(name: SourceName, why: string): PortwatchError {
  return new PortwatchError('ESOURCE_UNAVAILABLE', `source '${name}' is not available here: ${why}`);
}

function isRoot(): boolean {
  return typeof geteuid === 'function' && geteuid() === 0;
}

/** Picks the source. Throws PortwatchError('ESOURCE_UNAVAILABLE') with the reason. */
export function selectSource(choice: SourceChoice = 'auto', netnsPid?: number): Source {
  if (process.platform !== 'linux') {
    throw new PortwatchError('ESOURCE_UNAVAILABLE', `portwatch reads Linux socket tables; ${process.platform} is not supported yet`);
  }
  switch (choice) {
    case 'sockdiag': {
      const source = createSockDiagSource();
      if (!source) throw unavailable('sockdiag', sockDiagUnavailableReason() ?? 'the native addon did not load');
      return source;
    }
    case 'procfs':
      return createProcNetSource();
    case 'ss': {
      const source = createSsSource();
      if (!source) throw unavailable('ss', 'ss (iproute2) is not installed');
      return source;
    }
    case 'auto': {
      // Another namespace through sock_diag means setns(), which needs root; /proc does not.
      if (netnsPid === undefined || isRoot()) {
        const sockdiag = createSockDiagSource();
        if (sockdiag) return sockdiag;
      }
      return createProcNetSource();
    }
    default:
      throw new PortwatchError('EUSAGE', `unknown source '${String(choice)}' (use one of: ${SOURCE_CHOICES.join(', ')})`);
  }
}
