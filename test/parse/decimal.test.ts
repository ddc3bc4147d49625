import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { safeDecimal } from '../../src/parse/decimal.js';

describe('safeDecimal', () => {
  it('reads plain digits up to 2^53 - 1', () => {
    expect(safeDecimal('0')).toBe(0);
    expect(safeDecimal('007')).toBe(7);
    expect(safeDecimal('4294967295')).toBe(4294967295);
    expect(safeDecimal('9007199254740991')).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('rejects what is not an exact non-negative integer', () => {
    for (const text of ['9007199254740992', '18446744073709551615', '', '-1', '+1', '1e3', '0x10', ' 1', '1 ', '1.0', '١']) {
      expect(safeDecimal(text), text).toBeNull();
    }
    expect(safeDecimal(undefined)).toBeNull();
  });

  it('is the exact value or null, for any text', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.stringMatching(/^[0-9]{1,25}$/)), (text) => {
        const n = safeDecimal(text);
        if (n !== null) {
          expect(Number.isSafeInteger(n)).toBe(true);
          expect(BigInt(n)).toBe(BigInt(text));
        } else if (/^[0-9]+$/.test(text)) {
          expect(BigInt(text) > BigInt(Number.MAX_SAFE_INTEGER)).toBe(true);
        }
      }),
    );
  });
});
