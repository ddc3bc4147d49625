import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildInetDiagRequest, parseInetDiagDump, TCP_LISTEN_STATES, UDP_UNCONNECTED_STATES } from '../../src/parse/sock-diag.js';
import type { RawSocket } from '../../src/sources/source.js';

// Literal kernel replies captured by test/fixtures/sockdiag/capture.mjs, one netlink message a line.
function fixtureMessages(name: string): Buffer[] {
  const text = readFileSync(new URL(`../fixtures/sockdiag/${name}.hex`, import.meta.url), 'utf8');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'))
    .map((line) => Buffer.from(line.trim(), 'hex'));
}

function fixture(name: string): Buffer {
  return Buffer.concat(fixtureMessages(name));
}

const FIXTURES = [
  'empty',
  'tcp4-loopback',
  'tcp4-all-states',
  'tcp6-listeners',
  'udp4-unconnected',
  'udp4-all-states',
  'udp6-unconnected',
  'tcp4-bound-devices',
  'tcp6-bound-devices',
  'udp4-bound-devices',
  'udp6-bound-devices',
  'error-einval',
  'done-enoent',
] as const;

function protocolOf(name: string): 'tcp' | 'udp' {
  return name.startsWith('udp') ? 'udp' : 'tcp';
}

function sock(
  protocol: 'tcp' | 'udp',
  family: 4 | 6,
  address: string,
  port: number,
  inode: number,
  v6only: boolean | null,
  device: string | null = null,
  uid = 0,
): RawSocket {
  return { protocol, family, address, port, inode, uid, v6only, interface: device };
}

const TCP4_LISTENER = sock('tcp', 4, '127.0.0.1', 8080, 8979, null);
const UDP4_BOUND = sock('udp', 4, '127.0.0.1', 5353, 8989, null);

describe('parseInetDiagDump on captured kernel replies', () => {
  it('reads an empty dump as just DONE', () => {
    expect(parseInetDiagDump(fixture('empty'), 'tcp')).toEqual({ sockets: [], skipped: 0, done: true, error: null });
  });

  it('reads a tcp4 listener on 127.0.0.1', () => {
    expect(parseInetDiagDump(fixture('tcp4-loopback'), 'tcp')).toEqual({
      sockets: [TCP4_LISTENER],
      skipped: 0,
      done: true,
      error: null,
    });
  });

  it('keeps only the listener when the reply also holds ESTABLISHED sockets', () => {
    const dump = parseInetDiagDump(fixture('tcp4-all-states'), 'tcp');
    expect(fixtureMessages('tcp4-all-states')).toHaveLength(4); // listener, client, accepted, DONE
    expect(dump).toEqual({ sockets: [TCP4_LISTENER], skipped: 0, done: true, error: null });
  });

  it('reads tcp6 listeners with IPV6_V6ONLY from INET_DIAG_SKV6ONLY', () => {
    // Kernel order (listening hash). Binding a specific non-mapped IPv6 address makes the
    // kernel set v6only itself, which is why [::1] reports true.
    expect(parseInetDiagDump(fixture('tcp6-listeners'), 'tcp')).toEqual({
      sockets: [
        sock('tcp', 6, '::', 8082, 8985, false),
        sock('tcp', 6, '::', 8083, 8986, true),
        sock('tcp', 6, '::1', 8081, 8984, true),
        sock('tcp', 6, '::ffff:127.0.0.1', 8084, 8987, false),
      ],
      skipped: 0,
      done: true,
      error: null,
    });
  });

  it('reads a bound udp4 socket; the kernel already left out the connected one', () => {
    expect(fixtureMessages('udp4-unconnected')).toHaveLength(2);
    expect(parseInetDiagDump(fixture('udp4-unconnected'), 'udp')).toEqual({
      sockets: [UDP4_BOUND],
      skipped: 0,
      done: true,
      error: null,
    });
  });

  it('drops a connected udp socket the reply contains', () => {
    expect(fixtureMessages('udp4-all-states')).toHaveLength(3);
    expect(parseInetDiagDump(fixture('udp4-all-states'), 'udp')).toEqual({
      sockets: [UDP4_BOUND],
      skipped: 0,
      done: true,
      error: null,
    });
  });

  it('reads udp6 sockets with v6only', () => {
    expect(parseInetDiagDump(fixture('udp6-unconnected'), 'udp')).toEqual({
      sockets: [sock('udp', 6, '::1', 5355, 8993, true), sock('udp', 6, '::', 5356, 8994, false), sock('udp', 6, '::', 5357, 8995, true)],
      skipped: 0,
      done: true,
      error: null,
    });
  });

  it('reports NLMSG_ERROR as a positive errno', () => {
    expect(parseInetDiagDump(fixture('error-einval'), 'tcp')).toEqual({ sockets: [], skipped: 0, done: false, error: 22 });
  });

  it('reports a failed dump whose NLMSG_DONE carries a negative errno', () => {
    expect(parseInetDiagDump(fixture('done-enoent'), 'tcp')).toEqual({ sockets: [], skipped: 0, done: true, error: 2 });
  });

  it('reads a Uint8Array view that does not start at offset 0 of its buffer', () => {
    const bytes = fixture('tcp4-loopback');
    const backing = new Uint8Array(bytes.length + 5);
    backing.set(bytes, 5);
    expect(parseInetDiagDump(backing.subarray(5), 'tcp').sockets).toEqual([TCP4_LISTENER]);
  });
});

describe('parseInetDiagDump: the device a socket is bound to (test/fixtures/capture-bound-sockets.py)', () => {
  // Captured in a namespace where lo is index 1, pw1 index 2, pw0 index 3.
  const names = new Map([
    [1, 'lo'],
    [2, 'pw1'],
    [3, 'pw0'],
  ]);
  const nameOf = (index: number) => names.get(index) ?? null;

  it('tcp4: SO_BINDTODEVICE lo on 0.0.0.0 is not "all interfaces"', () => {
    expect(parseInetDiagDump(fixture('tcp4-bound-devices'), 'tcp', nameOf)).toEqual({
      sockets: [
        sock('tcp', 4, '127.0.0.1', 7001, 265790, null),
        sock('tcp', 4, '127.0.0.1', 7003, 265803, null, null, 65534),
        sock('tcp', 4, '0.0.0.0', 7002, 265791, null, 'lo'),
      ],
      skipped: 0,
      done: true,
      error: null,
    });
  });

  it('tcp6: two fe80::1 listeners on one port are told apart by their device', () => {
    expect(parseInetDiagDump(fixture('tcp6-bound-devices'), 'tcp', nameOf).sockets).toEqual([
      sock('tcp', 6, 'fe80::1', 7006, 265795, true, 'pw1'),
      sock('tcp', 6, 'fe80::1', 7006, 265794, true, 'pw0'),
      sock('tcp', 6, '::', 7005, 265793, true),
      sock('tcp', 6, '::', 7004, 265792, false),
      sock('tcp', 6, '::', 7007, 265796, false, 'lo'),
    ]);
  });

  it('udp4 and udp6', () => {
    expect(parseInetDiagDump(fixture('udp4-bound-devices'), 'udp', nameOf).sockets).toEqual([
      sock('udp', 4, '127.0.0.1', 7008, 265797, null),
      sock('udp', 4, '0.0.0.0', 7009, 265798, null, 'lo'),
    ]);
    expect(parseInetDiagDump(fixture('udp6-bound-devices'), 'udp', nameOf).sockets).toEqual([
      sock('udp', 6, '::', 7010, 265799, false),
      sock('udp', 6, 'fe80::1', 7011, 265800, true, 'pw1'),
    ]);
  });

  it('keeps the index, as iproute2 writes it, when the name is unknown', () => {
    const devices = (lookup?: (index: number) => string | null) =>
      parseInetDiagDump(fixture('tcp6-bound-devices'), 'tcp', lookup).sockets.map((s) => s.interface);
    expect(devices()).toEqual(['if2', 'if3', null, null, 'if1']);
    expect(devices(() => null)).toEqual(['if2', 'if3', null, null, 'if1']);
  });
});

describe('parseInetDiagDump on truncated and malformed input', () => {
  it.each(FIXTURES)('%s: every prefix parses to a prefix of the result, with one skipped record at most', (name) => {
    const messages = fixtureMessages(name);
    const whole = Buffer.concat(messages);
    const full = parseInetDiagDump(whole, protocolOf(name));
    const boundaries = new Set<number>();
    messages.reduce((offset, m) => (boundaries.add(offset), offset + m.length), 0);
    for (let cut = 0; cut < whole.length; cut++) {
      const part = parseInetDiagDump(whole.subarray(0, cut), protocolOf(name));
      expect(part.done).toBe(false);
      expect(part.error).toBeNull();
      expect(part.skipped).toBe(boundaries.has(cut) ? 0 : 1);
      expect(full.sockets.slice(0, part.sockets.length)).toEqual(part.sockets);
    }
  });

  function header(len: number, type: number): Buffer {
    const b = Buffer.alloc(16);
    if (endianness() === 'LE') {
      b.writeUInt32LE(len, 0);
      b.writeUInt16LE(type, 4);
    } else {
      b.writeUInt32BE(len, 0);
      b.writeUInt16BE(type, 4);
    }
    return b;
  }
  const DONE = fixture('empty');

  it('stops at a header whose length is below 16 or beyond the buffer', () => {
    expect(parseInetDiagDump(Buffer.concat([header(0, 20), DONE]), 'tcp')).toMatchObject({ skipped: 1, done: false });
    expect(parseInetDiagDump(Buffer.concat([header(15, 20), DONE]), 'tcp')).toMatchObject({ skipped: 1, done: false });
    expect(parseInetDiagDump(Buffer.concat([header(0xffffffff, 20), DONE]), 'tcp')).toMatchObject({ skipped: 1, done: false });
  });

  it('skips a socket message too short for inet_diag_msg and goes on', () => {
    const short = Buffer.concat([header(16 + 40, 20), Buffer.alloc(40)]);
    const dump = parseInetDiagDump(Buffer.concat([short, fixture('tcp4-loopback')]), 'tcp');
    expect(dump).toEqual({ sockets: [TCP4_LISTENER], skipped: 1, done: true, error: null });
  });

  it('ignores message types it does not know', () => {
    const noop = header(16, 1); // NLMSG_NOOP
    expect(parseInetDiagDump(Buffer.concat([noop, fixture('tcp4-loopback')]), 'tcp')).toMatchObject({
      sockets: [TCP4_LISTENER],
      skipped: 0,
    });
  });

  it('skips a socket of an unknown address family', () => {
    const [record, done] = fixtureMessages('tcp4-loopback') as [Buffer, Buffer];
    const bad = Buffer.from(record);
    bad[16] = 99;
    expect(parseInetDiagDump(Buffer.concat([bad, done]), 'tcp')).toEqual({ sockets: [], skipped: 1, done: true, error: null });
  });

  it('skips an IPv6 socket whose attributes are malformed', () => {
    const [record, , , , done] = fixtureMessages('tcp6-listeners') as [Buffer, Buffer, Buffer, Buffer, Buffer];
    const badLength = Buffer.from(record);
    badLength.writeUInt16LE(200, 16 + 72); // first rtattr claims more than the message holds
    const shortV6Only = Buffer.from(record);
    shortV6Only.writeUInt16LE(4, 16 + 72 + 8); // INET_DIAG_SKV6ONLY with no payload byte
    expect(shortV6Only.readUInt16LE(16 + 72 + 8 + 2)).toBe(11);
    for (const bad of [badLength, shortV6Only]) {
      expect(parseInetDiagDump(Buffer.concat([bad, done]), 'tcp')).toMatchObject({ sockets: [], skipped: 1, done: true });
    }
  });

  it('reports v6only null for an IPv6 socket without INET_DIAG_SKV6ONLY', () => {
    const [record, , , , done] = fixtureMessages('tcp6-listeners') as [Buffer, Buffer, Buffer, Buffer, Buffer];
    const renamed = Buffer.from(record);
    renamed.writeUInt16LE(99, 16 + 72 + 8 + 2); // SKV6ONLY becomes an unknown attribute
    expect(parseInetDiagDump(Buffer.concat([renamed, done]), 'tcp').sockets).toEqual([sock('tcp', 6, '::', 8082, 8985, null)]);
  });

  it('drops UDP sockets that have a peer and TCP sockets that are not listening', () => {
    const [udp, done] = fixtureMessages('udp4-unconnected') as [Buffer, Buffer];
    const withPeerPort = Buffer.from(udp);
    withPeerPort.writeUInt16BE(53, 16 + 6);
    const withPeerAddress = Buffer.from(udp);
    withPeerAddress[16 + 24] = 10;
    for (const bad of [withPeerPort, withPeerAddress]) {
      expect(parseInetDiagDump(Buffer.concat([bad, done]), 'udp')).toEqual({ sockets: [], skipped: 0, done: true, error: null });
    }
    const [tcp] = fixtureMessages('tcp4-loopback') as [Buffer];
    const established = Buffer.from(tcp);
    established[17] = 1;
    expect(parseInetDiagDump(Buffer.concat([established, done]), 'tcp').sockets).toEqual([]);
    // The same record read as the other protocol does not pass either filter.
    expect(parseInetDiagDump(Buffer.concat([tcp, done]), 'udp').sockets).toEqual([]);
  });

  it('treats an acknowledgement as no error and a short NLMSG_ERROR as skipped', () => {
    const ack = Buffer.concat([header(20, 2), Buffer.alloc(4)]);
    expect(parseInetDiagDump(ack, 'tcp')).toEqual({ sockets: [], skipped: 0, done: false, error: null });
    expect(parseInetDiagDump(header(16, 2), 'tcp')).toEqual({ sockets: [], skipped: 1, done: false, error: null });
  });

  it('counts trailing bytes too short for a header', () => {
    expect(parseInetDiagDump(Buffer.concat([fixture('tcp4-loopback').subarray(0, 124), Buffer.alloc(7)]), 'tcp')).toEqual({
      sockets: [TCP4_LISTENER],
      skipped: 1,
      done: false,
      error: null,
    });
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1024 }), fc.constantFrom('tcp' as const, 'udp' as const), (bytes, protocol) => {
        const dump = parseInetDiagDump(bytes, protocol);
        expect(dump.skipped).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws on captured replies with random bytes overwritten', () => {
    const names = FIXTURES.map((name) => name);
    fc.assert(
      fc.property(
        fc.constantFrom(...names),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        (name, edits) => {
          const bytes = Buffer.from(fixture(name));
          for (const [at, value] of edits) bytes[at % bytes.length] = value;
          for (const s of parseInetDiagDump(bytes, protocolOf(name)).sockets) {
            expect(s.port).toBeGreaterThanOrEqual(0);
            expect(s.port).toBeLessThanOrEqual(65535);
            expect([4, 6]).toContain(s.family);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('buildInetDiagRequest', () => {
  it('exports the state masks the kernel expects', () => {
    expect(TCP_LISTEN_STATES).toBe(0x400);
    expect(UDP_UNCONNECTED_STATES).toBe(0x80);
  });

  it('matches the bytes of a hand-assembled tcp4 LISTEN request', () => {
    const bytes = buildInetDiagRequest({ family: 4, protocol: 'tcp', states: TCP_LISTEN_STATES, seq: 7 });
    const expected = Buffer.alloc(72);
    expected.set([72, 0, 0, 0, 20, 0, 0x01, 0x03, 7, 0, 0, 0, 0, 0, 0, 0, 2, 6, 0, 0, 0x00, 0x04, 0, 0]);
    if (endianness() === 'LE') expect(bytes.toString('hex')).toBe(expected.toString('hex'));
    expect(bytes.length).toBe(72);
  });

  it('writes every field in host byte order and frames exactly one message', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(4 as const, 6 as const),
        fc.constantFrom('tcp' as const, 'udp' as const),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 0, max: 0xffffffff }),
        (family, protocol, states, seq) => {
          const b = buildInetDiagRequest({ family, protocol, states, seq });
          const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
          const le = endianness() === 'LE';
          expect(view.getUint32(0, le)).toBe(b.length);
          expect(view.getUint16(4, le)).toBe(20);
          expect(view.getUint16(6, le)).toBe(0x301);
          expect(view.getUint32(8, le)).toBe(seq);
          expect(view.getUint32(12, le)).toBe(0);
          expect([b[16], b[17], b[18], b[19]]).toEqual([family === 4 ? 2 : 10, protocol === 'tcp' ? 6 : 17, 0, 0]);
          expect(view.getUint32(20, le)).toBe(states);
          expect(b.subarray(24).every((x) => x === 0)).toBe(true);
          // Read back as a reply, it is one record: too short to be a socket, so skipped.
          expect(parseInetDiagDump(b, protocol)).toEqual({ sockets: [], skipped: 1, done: false, error: null });
        },
      ),
    );
  });
});
