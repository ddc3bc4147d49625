import { describe, expect, it } from 'vitest';
import { parseByteSize } from '../../src/serve/byte-size.js';

describe('parseByteSize', () => {
  it.each([
    ['1', 1],
    ['65536', 65536],
    ['64KiB', 65536],
    ['64k', 65536],
    ['500KB', 500_000],
    ['10MiB', 10 * 1024 * 1024],
    ['10M', 10 * 1024 * 1024],
    ['2MB', 2_000_000],
    ['1GiB', 1024 ** 3],
    ['1.5KiB', 1536],
    [' 3 mib ', 3 * 1024 * 1024],
    ['12B', 12],
  ])('%s → %d', (text, bytes) => {
    expect(parseByteSize(text)).toBe(bytes);
  });

  it.each(['', '0', '-1', 'ten', '10XB', '10 MiBs', '0.1'])('rejects %j with a usage error naming the option', (text) => {
    expect(() => parseByteSize(text, '--max-body-bytes')).toThrow(
      expect.objectContaining({ code: 'EUSAGE', message: expect.stringContaining('--max-body-bytes') }),
    );
  });
});
