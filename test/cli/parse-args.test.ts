import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PortwatchError } from '../../src/errors.js';
import { parseDuration, parsePid, parsePortList, parsePortSpec, parseRegex, portInRanges } from '../../src/cli/parse-args.js';

const usage = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(PortwatchError);
    expect((e as PortwatchError).code).toBe('EUSAGE');
    return (e as Error).message;
  }
  throw new Error('expected a usage error');
};

describe('parseDuration', () => {
  it.each([
    ['250ms', 250],
    ['2s', 2000],
    ['1.5s', 1500],
    ['1m', 60000],
    ['1h', 3600000],
    ['0', 0],
  ])('%s = %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));
  it('refuses a number without a unit, showing both spellings (wait-on means ms, GNU timeout means s)', () => {
    expect(usage(() => parseDuration('5', 'timeout'))).toBe(
      "invalid timeout '5': a number without a unit is ambiguous; write 5s for seconds or 5ms for milliseconds",
    );
    expect(usage(() => parseDuration('1.5', 'interval'))).toMatch(/write 1\.5s for seconds or 1\.5ms/);
  });
  it.each(['', 'abc', '-1s', '2 s', '1d', '1e3'])('rejects %j with a clear message', (text) => {
    expect(usage(() => parseDuration(text, 'interval'))).toMatch(/invalid interval/);
  });
  it('never throws anything but a usage error', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        try {
          return parseDuration(s) >= 0;
        } catch (e) {
          return e instanceof PortwatchError;
        }
      }),
    );
  });
});

describe('ports', () => {
  it('parses lists and ranges', () => {
    const r = parsePortSpec('80,443,3000-3010');
    expect(portInRanges(443, r)).toBe(true);
    expect(portInRanges(3005, r)).toBe(true);
    expect(portInRanges(3011, r)).toBe(false);
    expect(parsePortList('3000,5173,3000')).toEqual([3000, 5173]);
  });
  it.each(['0', '65536', 'http', '80,', '10-5', '1.5', '-1'])('rejects %j', (text) => {
    usage(() => parsePortSpec(text));
  });
  it('rejects ranges where wait needs single ports', () => usage(() => parsePortList('3000-3001')));
});

describe('pid and regex', () => {
  it('parses', () => {
    expect(parsePid('42')).toBe(42);
    expect(parseRegex('^node$').test('node')).toBe(true);
  });
  it('rejects', () => {
    usage(() => parsePid('0'));
    usage(() => parsePid('abc'));
    expect(usage(() => parseRegex('('))).toMatch(/invalid regular expression/);
  });
});
