import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lineColumn, parseJsonc } from '../../src/rules/jsonc.js';

describe('parseJsonc', () => {
  it('reads comments, trailing commas and a byte-order mark', () => {
    const text = '\uFEFF// top\n{\n  "a": [1, 2,], /* b */ "b": { "c": "x//y", "d": "/*z*/", },\n}\n';
    expect(parseJsonc(text)).toEqual({ ok: true, value: { a: [1, 2], b: { c: 'x//y', d: '/*z*/' } } });
  });

  it('keeps "__proto__" as data, as JSON.parse does', () => {
    const r = parseJsonc('{"__proto__": {"polluted": true}}');
    expect(r.ok && Object.getPrototypeOf(r.value)).toBe(Object.prototype);
    expect(r.ok && Object.keys(r.value as object)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each([
    ['{ "a": 1', "invalid JSON at line 1, column 9: unexpected end of input: expected '}'"],
    ['{\n  "a": 1\n  "b": 2\n}', "invalid JSON at line 3, column 3: expected ','"],
    ['{ a: 1 }', "invalid JSON at line 1, column 3: unexpected 'a'"],
    ['[1, 2] 3', 'invalid JSON at line 1, column 8: unexpected text after the end of the value'],
    ['"abc', 'invalid JSON at line 1, column 1: unterminated string'],
    ['/* open', 'invalid JSON at line 1, column 1: unterminated /* comment'],
    ['', 'invalid JSON at line 1, column 1: unexpected end of input: a value is missing'],
    ['{"a": 01}', "invalid JSON at line 1, column 8: expected ','"],
    ['{"a": "\\x"}', 'invalid JSON at line 1, column 7: invalid escape sequence in a string'],
    ['{"a": "\u0001"}', 'invalid JSON at line 1, column 7: control character inside a string (write it as an escape, e.g. \\n)'],
  ])('%j → %s', (text, error) => {
    expect(parseJsonc(text)).toEqual({ ok: false, error });
  });

  it('refuses nesting beyond 256 levels instead of overflowing the stack', () => {
    const r = parseJsonc('['.repeat(100_000));
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toMatch(/nested more than 256 levels deep/);
  });

  it('reads whatever JSON.stringify writes, exactly as JSON.parse does', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(undefined, 2, '\t'), (value, indent) => {
        const text = JSON.stringify(value, null, indent);
        expect(parseJsonc(text)).toEqual({ ok: true, value: JSON.parse(text) });
      }),
      { numRuns: 300 },
    );
  });

  it('accepts every text JSON.parse accepts, with the same value, and never throws on any text', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc.json().map((j) => j.slice(0, -1)),
        ),
        (text) => {
          const r = parseJsonc(text);
          let expected: unknown;
          try {
            expected = JSON.parse(text);
          } catch {
            return; // JSON.parse refuses it; ours may accept (comments, trailing commas) or refuse
          }
          expect(r).toEqual({ ok: true, value: expected });
        },
      ),
      { numRuns: 500 },
    );
  });

  it('errors are one line, also when they name a property', () => {
    expect(parseJsonc('{"a\\nb" 1}')).toEqual({
      ok: false,
      error: "invalid JSON at line 1, column 9: expected ':' after the property name",
    });
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string(), (text, key) => {
        const r = parseJsonc(`{${JSON.stringify(key)}: ${text}`);
        if (!r.ok) {
          expect(r.error).not.toMatch(/[\n\r]/);
          expect(r.error).toMatch(/^invalid JSON at line \d+, column \d+: /);
        }
      }),
    );
  });
});

describe('lineColumn', () => {
  it('counts from 1', () => {
    expect(lineColumn('ab\ncd', 0)).toEqual({ line: 1, column: 1 });
    expect(lineColumn('ab\ncd', 4)).toEqual({ line: 2, column: 2 });
  });
});
