import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PortwatchError } from '../../src/errors.js';
import { parseConfigText } from '../../src/rules/config.js';
import { compilePattern, MAX_PATTERN_LENGTH } from '../../src/rules/pattern.js';
import { createRules } from '../../src/rules/rules.js';
import { listener, proc } from './make-listener.js';

/** The message of the PortwatchError('EUSAGE') `f` throws. */
function usage(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(PortwatchError);
    expect((e as PortwatchError).code).toBe('EUSAGE');
    return (e as PortwatchError).message;
  }
  throw new Error('expected a usage error');
}

/** Milliseconds `f` takes. */
function timed(f: () => void): number {
  const start = performance.now();
  f();
  return performance.now() - start;
}

// Each of these backtracks for seconds to minutes in a JavaScript RegExp on its input.
const PATHOLOGICAL: [string, string][] = [
  ['(a+)+$', `node server.js ${'a'.repeat(28)}!`],
  ['(\\w+\\s?)+!', 'python3 /srv/app/manage.py runserver --settings=supercalifragilisticexpialidociousproject'],
  ['^(([a-z])+.)+[A-Z]([a-z])+$', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!'],
  ['(x+x+)+y', 'x'.repeat(4096)],
];

describe('compilePattern: linear-time matching of user patterns', () => {
  it.each(PATHOLOGICAL)('%s answers well under a second', (pattern, input) => {
    const p = compilePattern(pattern);
    let matched: boolean | undefined;
    expect(timed(() => (matched = p.test(input)))).toBeLessThan(500);
    expect(matched).toBe(false);
  });

  it('through config rules and devcontainer portsAttributes keys, as list/watch/serve use them', () => {
    const command = `node server.js ${'a'.repeat(28)}!`;
    const rules = createRules(
      parseConfigText(
        JSON.stringify({ ignore: [{ command: '(a+)+$' }], label: [{ command: '(\\w+\\s?)+!', label: 'bang' }] }),
        'portwatch.json',
      ),
      'portwatch.json',
    );
    const devcontainer = createRules(
      parseConfigText(
        JSON.stringify({ portsAttributes: { '(a+)+$': { onAutoForward: 'ignore' }, '(\\w+\\s?)+#': { label: 'hash' } } }),
        'devcontainer.json',
      ),
      'devcontainer.json',
    );
    const l = listener({ process: proc({ command }) });
    let results: unknown[] = [];
    const ms = timed(() => {
      results = [rules.filter(l), rules.label(l), devcontainer.filter(l), devcontainer.label(l)];
    });
    expect(ms).toBeLessThan(500);
    // The rules still mean what they say: `(a+)+$` does not match (the line ends in '!'),
    // `(\w+\s?)+!` does.
    expect(results).toEqual([true, 'bang', true, null]);
  });

  it('keeps the JavaScript-style patterns users write working', () => {
    const cases: [string, string, boolean][] = [
      ['^code-server$', 'code-server', true],
      ['^code-server$', 'code-server-x', false],
      ['vitest|playwright', 'node node_modules/.bin/playwright test', true],
      ['node .*vite', 'node /app/node_modules/.bin/vite --port 5173', true],
      ['\\bvite\\b', 'invite', false],
      ['\\d{4,5}', '--port 5173', true],
      ['\\/usr\\/bin\\/python3?', '/usr/bin/python3 -m http.server', true],
      ['\\u0041pp', 'App', true],
      ['(?<name>redis)-server', 'redis-server *:6379', true],
      ['[^]x', 'ax', true],
      ['[\\w.-]+\\.js$', 'node ./server.min.js', true],
      ['(?i)^POSTGRES', 'postgres: checkpointer', true],
      ['^POSTGRES', 'postgres: checkpointer', false],
      ['', 'anything', true],
    ];
    for (const [pattern, text, expected] of cases) {
      expect([pattern, text, compilePattern(pattern).test(text)]).toEqual([pattern, text, expected]);
    }
    expect(compilePattern('a+b').source).toBe('a+b');
  });

  it.each([
    ['(a)\\1', "invalid regular expression '(a)\\1': backreferences like \\1 are not supported"],
    ['(?<q>["\'])x\\k<q>', 'backreferences like \\k<name> are not supported'],
    ['foo(?=bar)', 'lookahead (?= and (?! is not supported'],
    ['foo(?!bar)', 'lookahead (?= and (?! is not supported'],
    ['(?<=node )vite', 'lookbehind (?<= and (?<! is not supported'],
    ['(?<!x)vite', 'lookbehind (?<= and (?<! is not supported'],
    ['(', "invalid regular expression '(': missing closing ): `(`"],
    ['a**', 'invalid nested repetition operator'],
    ['a{1001}', 'invalid repeat count'],
    ['(?:.*a.*){300}', 'too complex to match quickly'],
    ['x'.repeat(MAX_PATTERN_LENGTH + 1), `longer than ${MAX_PATTERN_LENGTH} characters`],
  ])('refuses %s with a reason', (pattern, reason) => {
    const message = usage(() => compilePattern(pattern));
    expect(message).toContain(reason);
    expect(message).toMatch(/^invalid regular expression '/);
    expect(message).not.toContain('\n');
  });

  it('says that RE2 is why, and keeps the message on one line whatever the pattern holds', () => {
    expect(usage(() => compilePattern('(?=x)'))).toContain('portwatch matches patterns with RE2 syntax, in linear time');
    expect(usage(() => compilePattern('(\n'))).toBe("invalid regular expression '(\\u000a': missing closing ): `(\\u000a`");
    expect(usage(() => compilePattern('\\k<x>\\\\k<x>'))).toContain('\\k<name>');
    expect(() => compilePattern('\\\\k<x>')).not.toThrow(); // an escaped backslash, then a literal k
    expect(compilePattern('[\\k<]').test('<')).toBe(true); // in a class, \k is just k
  });

  it('never throws anything but a usage error, and never from test() (property)', () => {
    const unit = fc.constantFrom(...'()[]{}?*+|^$.\\-,:=!<>PkbBdDwWsSpuxc0123456789aAzZ \n'.split(''));
    const pattern = fc.oneof(fc.string({ unit, maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }));
    const input = fc.string({ unit: 'binary', maxLength: 200 });
    fc.assert(
      fc.property(pattern, input, (p, text) => {
        let compiled;
        try {
          compiled = compilePattern(p);
        } catch (e) {
          return e instanceof PortwatchError && e.code === 'EUSAGE' && !e.message.includes('\n');
        }
        return typeof compiled.test(text) === 'boolean';
      }),
      { numRuns: 3000 },
    );
  });
});
