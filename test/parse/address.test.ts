import fc from 'fast-check';
import { isIPv6 } from 'node:net';
import { describe, expect, it } from 'vitest';
import { formatHostPort, formatIPv6, procHexToAddress } from '../../src/parse/address.js';

describe('procHexToAddress', () => {
  it.each([
    ['0100007F', 4, '127.0.0.1'],
    ['00000000', 4, '0.0.0.0'],
    ['00000000000000000000000000000000', 6, '::'],
    ['00000000000000000000000001000000', 6, '::1'],
    ['0000000000000000FFFF00000100007F', 6, '::ffff:127.0.0.1'],
    ['000080FE00000000FFF69B647D42C3FE', 6, 'fe80::649b:f6ff:fec3:427d'],
  ] as const)('%s (IPv%d) is %s', (hex, family, want) => {
    expect(procHexToAddress(hex, family)).toBe(want);
  });

  it('reads big-endian hosts too', () => {
    expect(procHexToAddress('7F000001', 4, false)).toBe('127.0.0.1');
  });

  it.each(['', '0100007', '0100007G', '0100007F00'])('rejects %j', (hex) => {
    expect(procHexToAddress(hex, 4)).toBeNull();
  });

  it('never throws and returns null or a valid address', () => {
    fc.assert(
      fc.property(fc.string(), fc.constantFrom(4 as const, 6 as const), (s, family) => {
        const r = procHexToAddress(s, family);
        return r === null || typeof r === 'string';
      }),
    );
  });
});

describe('formatIPv6', () => {
  it('follows RFC 5952', () => {
    expect(formatIPv6([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1])).toBe('2001:db8::1:0:0:1');
    expect(formatIPv6([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1])).toBe('2001:db8:0:1:1:1:1:1');
    expect(formatIPv6(new Array(16).fill(0xff))).toBe('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff');
  });

  it('always produces an address Node accepts, and round-trips through the URL parser', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        const text = formatIPv6(bytes);
        expect(isIPv6(text)).toBe(true);
        expect(new URL(`http://[${text}]/`).hostname).toBe(`[${text}]`);
      }),
    );
  });
});

describe('formatHostPort', () => {
  it('brackets IPv6', () => {
    expect(formatHostPort('::1', 80, 6)).toBe('[::1]:80');
    expect(formatHostPort('127.0.0.1', 80, 4)).toBe('127.0.0.1:80');
  });
});
