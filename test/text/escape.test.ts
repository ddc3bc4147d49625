import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { escapeControl } from '../../src/text/escape.js';

/** What must never reach a terminal raw, by Unicode's own properties (not by the module's list). */
const UNSAFE = /[\p{Cc}\p{Bidi_Control}\p{Zl}\p{Zp}]/u;

/** Strings rich in the characters that matter, plus any code point at all. */
const risky = fc.string({
  unit: fc.oneof(
    fc.constantFrom(
      '\u001b',
      '\n',
      '\r',
      '\t',
      '\u0000',
      '\u007f',
      '\u0085',
      '\u009b',
      '\u202e',
      '\u2066',
      '\u200f',
      '\u2028',
      '\\',
      'x',
      '[',
      'é',
    ),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  ),
  maxLength: 40,
});

/** The inverse of escapeControl for text that held no backslash (which escapeControl leaves alone). */
function unescape(text: string): string {
  return text.replace(/\\(x[0-9a-f]{2}|u[0-9a-f]{4}|[tnr])/g, (_, e: string) => {
    if (e === 't') return '\t';
    if (e === 'n') return '\n';
    if (e === 'r') return '\r';
    return String.fromCharCode(parseInt(e.slice(1), 16));
  });
}

describe('escapeControl', () => {
  it.each([
    ['a\u001b[31mred\u001b[0m', 'a\\x1b[31mred\\x1b[0m'],
    ['one\ntwo\rthree\tfour', 'one\\ntwo\\rthree\\tfour'],
    ['nul\u0000 del\u007f csi\u009b nel\u0085', 'nul\\x00 del\\x7f csi\\x9b nel\\x85'],
    ['abc\u202edcba', 'abc\\u202edcba'],
    ['\u2066x\u2069 \u200e\u200f\u061c \u2028\u2029', '\\u2066x\\u2069 \\u200e\\u200f\\u061c \\u2028\\u2029'],
    ['grep -E "a\\.b" C:\\dir \\x1b', 'grep -E "a\\.b" C:\\dir \\x1b'],
    ['node server.js --name=café 日本 🙂', 'node server.js --name=café 日本 🙂'],
    ['', ''],
  ])('%j → %j', (raw, shown) => {
    expect(escapeControl(raw)).toBe(shown);
  });

  it('never lets a control, bidi or line-separator character through, and never throws', () => {
    fc.assert(
      fc.property(risky, (text) => {
        expect(escapeControl(text)).not.toMatch(UNSAFE);
      }),
      { numRuns: 2000 },
    );
  });

  it('changes nothing in text without such characters, and escaping twice is escaping once', () => {
    fc.assert(
      fc.property(risky, (text) => {
        const once = escapeControl(text);
        expect(escapeControl(once)).toBe(once);
        if (!UNSAFE.test(text)) expect(once).toBe(text);
      }),
      { numRuns: 2000 },
    );
  });

  it('loses nothing: without backslashes in the input, the escapes read back to the exact text', () => {
    fc.assert(
      fc.property(
        risky.filter((t) => !t.includes('\\')),
        (text) => {
          expect(unescape(escapeControl(text))).toBe(text);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
