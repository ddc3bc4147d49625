import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareListeners, displayAddress, listenerKey, sameListener, type Listener } from '../src/listener.js';

const base: Listener = {
  protocol: 'tcp',
  family: 6,
  address: 'fe80::1',
  port: 8080,
  dualStack: false,
  interface: 'eth0',
  inode: 7,
  uid: 0,
  netns: '4026531840',
  process: null,
};

describe('displayAddress', () => {
  it('writes the device as a zone, inside the brackets for IPv6', () => {
    expect(displayAddress(base)).toBe('[fe80::1%eth0]:8080');
    expect(displayAddress({ ...base, family: 4, address: '0.0.0.0', interface: 'lo' })).toBe('0.0.0.0%lo:8080');
    expect(displayAddress({ ...base, interface: 'if7' })).toBe('[fe80::1%if7]:8080');
  });

  it('leaves unbound sockets as they were', () => {
    expect(displayAddress({ ...base, address: '::1', interface: null })).toBe('[::1]:8080');
    expect(displayAddress({ ...base, family: 4, address: '127.0.0.1', interface: null })).toBe('127.0.0.1:8080');
  });
});

describe('listenerKey and compareListeners', () => {
  it('tell apart sockets that differ only by device', () => {
    const other = { ...base, interface: 'eth1' };
    expect(listenerKey(base)).not.toBe(listenerKey(other));
    expect(compareListeners(base, other)).toBeLessThan(0);
    expect(compareListeners(other, base)).toBeGreaterThan(0);
    expect(listenerKey({ ...base, interface: null })).not.toBe(listenerKey(base));
  });

  it('reads a missing interface (objects made before it existed) as null', () => {
    const { interface: _, ...old } = { ...base, interface: null };
    expect(listenerKey(old)).toBe(listenerKey({ ...base, interface: null }));
  });
});

describe('sameListener', () => {
  it('says what comparing keys says, without building them', () => {
    const arb = fc
      .record({
        protocol: fc.constantFrom('tcp' as const, 'udp' as const),
        address: fc.constantFrom('fe80::1', 'fe80::1%eth0', '::1'),
        interface: fc.constantFrom(null, 'eth0', undefined),
        port: fc.constantFrom(80, 81),
        inode: fc.constantFrom(0, 7),
        netns: fc.constantFrom(null, '-', '4026531840'),
      })
      .map((r) => ({ ...base, ...r }) as Listener);
    fc.assert(
      fc.property(arb, arb, (a, b) => {
        expect(sameListener(a, b)).toBe(listenerKey(a) === listenerKey(b));
      }),
      { numRuns: 2_000 },
    );
  });
});
