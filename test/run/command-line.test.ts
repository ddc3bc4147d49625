import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PortwatchError } from '../../src/errors.js';
import { fillPlaceholders, splitCommandLine } from '../../src/run/command-line.js';

describe('splitCommandLine', () => {
  it.each([
    ['npm test', ['npm', 'test']],
    ['  curl  -fsS   {url}  ', ['curl', '-fsS', '{url}']],
    [`sh -c 'echo "$PORTWATCH_READY_URL"; exit 3'`, ['sh', '-c', 'echo "$PORTWATCH_READY_URL"; exit 3']],
    [`echo "a \\"b\\" \\$c \\n"`, ['echo', 'a "b" $c \\n']],
    [`a\\ b c\\'d`, ['a b', "c'd"]],
    [`x '' ""`, ['x', '', '']],
    [`pre'quoted'post "x"y`, ['prequotedpost', 'xy']],
  ])('%s', (text, words) => {
    expect(splitCommandLine(text)).toEqual(words);
  });

  it.each([
    ["echo 'open", "invalid command 'echo 'open': a single quote is not closed"],
    ['echo "open', `invalid command 'echo "open': a double quote is not closed`],
    ['echo \\', "invalid command 'echo \\': it ends with a lone backslash"],
    ['   ', 'empty command: give the program to run, e.g. --ready-exec "npm test"'],
  ])('%j is a usage error', (text, message) => {
    expect(() => splitCommandLine(text)).toThrow(new PortwatchError('EUSAGE', message));
  });

  it('gives back any list of words written with single quotes, and throws nothing but EUSAGE on any text', () => {
    const quote = (w: string): string => `'${w.replace(/'/g, `'\\''`)}'`;
    fc.assert(
      fc.property(fc.array(fc.string(), { minLength: 1, maxLength: 6 }), (words) => {
        expect(splitCommandLine(words.map(quote).join(' '))).toEqual(words);
      }),
    );
    fc.assert(
      fc.property(fc.string(), (text) => {
        try {
          splitCommandLine(text);
        } catch (e) {
          expect(e).toBeInstanceOf(PortwatchError);
          expect((e as PortwatchError).code).toBe('EUSAGE');
        }
      }),
    );
  });
});

describe('fillPlaceholders', () => {
  it('fills {port}, {host}, {url} and {pid}, and leaves other braces alone', () => {
    const values = { port: '5173', host: '[::1]', url: 'http://[::1]:5173/', pid: '42' };
    expect(fillPlaceholders(['open', '{url}', '--port={port}', '{host}:{port}', '{pid}', '{"a":1}', '{other}'], values)).toEqual([
      'open',
      'http://[::1]:5173/',
      '--port=5173',
      '[::1]:5173',
      '42',
      '{"a":1}',
      '{other}',
    ]);
  });
});
