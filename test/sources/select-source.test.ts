import { describe, expect, it } from 'vitest';
import { selectSource, SOURCE_CHOICES, type SourceChoice } from '../../src/sources/select-source.js';
import { sockDiagUnavailableReason } from '../../src/sources/sock-diag-addon.js';

describe('selectSource', () => {
  it('gives the source asked for by name', () => {
    const source = selectSource('procfs');
    expect(source.name).toBe('procfs');
    source.close?.();
  });

  it('auto: sock_diag where the addon loads, /proc/net otherwise', () => {
    const source = selectSource('auto');
    expect(source.name).toBe(sockDiagUnavailableReason() === null ? 'sockdiag' : 'procfs');
    source.close?.();
  });

  it('an unknown name is a usage error that lists the choices', () => {
    expect(() => selectSource('nope' as SourceChoice)).toThrow(
      expect.objectContaining({ code: 'EUSAGE', message: `unknown source 'nope' (use one of: ${SOURCE_CHOICES.join(', ')})` }),
    );
  });
});
