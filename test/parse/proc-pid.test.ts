import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseStatPpid, parseStatusSignals, parseStatusUid } from '../../src/parse/proc-pid.js';
import { fixture } from '../helpers/fixtures.js';

describe('parseStatPpid', () => {
  it('reads a real /proc/<pid>/stat', () => {
    expect(parseStatPpid(fixture('proc-pid/stat'))).toBe(4004);
  });
  it('copes with a name holding spaces and parentheses', () => {
    expect(parseStatPpid('42 (my (odd) name) S 7 42 42 0 -1')).toBe(7);
  });
  it('rejects a ppid beyond 2^53 - 1', () => {
    expect(parseStatPpid('42 (x) S 99999999999999999999 42 42 0 -1')).toBeNull();
  });
  it('returns null for junk and never throws', () => {
    expect(parseStatPpid('nothing')).toBeNull();
    fc.assert(fc.property(fc.string(), (s) => parseStatPpid(s) === null || Number.isInteger(parseStatPpid(s))));
  });
});

describe('parseStatusUid', () => {
  it('reads the effective uid from a real /proc/<pid>/status', () => {
    expect(parseStatusUid(fixture('proc-pid/status'))).toBe(1000);
  });
  it('rejects a uid beyond 2^53 - 1 rather than rounding it', () => {
    expect(parseStatusUid('Uid:\t0\t99999999999999999999\t0\t0\n')).toBeNull();
    expect(parseStatusUid('Uid:\t0\t4294967295\t0\t0\n')).toBe(4294967295);
  });
  it('never throws', () => {
    fc.assert(fc.property(fc.string(), (s) => parseStatusUid(s) === null || Number.isSafeInteger(parseStatusUid(s))));
  });
});

describe('parseStatusSignals', () => {
  it('reads SigBlk, SigIgn and SigCgt from a real /proc/<pid>/status', () => {
    expect(parseStatusSignals(fixture('proc-pid/status'))).toEqual({ blocked: 0n, ignored: 0n, caught: 0n });
  });
  it('reads the masks of a process that blocks SIGCHLD and catches SIGTERM (as systemd does), in hex', () => {
    const status =
      'Name:\tsystemd\nSigQ:\t0/63434\nSigPnd:\t0000000000000000\nShdPnd:\t0000000000000000\nSigBlk:\t7be3c0fe28014a03\nSigIgn:\t0000000000001000\nSigCgt:\t00000001800004ec\n';
    expect(parseStatusSignals(status)).toEqual({ blocked: 0x7be3c0fe28014a03n, ignored: 0x1000n, caught: 0x1800004ecn });
  });
  it('null when a mask is missing or not hex, and never throws', () => {
    expect(parseStatusSignals('SigBlk:\t0\nSigIgn:\t0\n')).toBeNull();
    expect(parseStatusSignals('SigBlk:\tzz\nSigIgn:\t0\nSigCgt:\t0\n')).toBeNull();
    fc.assert(fc.property(fc.string(), (s) => parseStatusSignals(s) === null || typeof parseStatusSignals(s)?.blocked === 'bigint'));
  });
});
