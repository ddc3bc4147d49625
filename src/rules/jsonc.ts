/**
 * JSON with comments and trailing commas, read the way VS Code reads devcontainer.json:
 * through Microsoft's jsonc-parser, the parser VS Code itself uses. This module only adds
 * what a config loader needs on top: one short error naming the line and column (never
 * the input), a depth limit, and `__proto__` kept as plain data.
 */
import { ParseErrorCode, visit } from 'jsonc-parser';

export type JsoncResult = { ok: true; value: unknown } | { ok: false; error: string };

const MAX_DEPTH = 256;

const MESSAGES: Record<ParseErrorCode, string> = {
  [ParseErrorCode.InvalidSymbol]: 'unexpected character',
  [ParseErrorCode.InvalidNumberFormat]: 'invalid number',
  [ParseErrorCode.PropertyNameExpected]: 'expected a "quoted" property name',
  [ParseErrorCode.ValueExpected]: 'a value is missing',
  [ParseErrorCode.ColonExpected]: "expected ':' after the property name",
  [ParseErrorCode.CommaExpected]: "expected ','",
  [ParseErrorCode.CloseBraceExpected]: "expected '}'",
  [ParseErrorCode.CloseBracketExpected]: "expected ']'",
  [ParseErrorCode.EndOfFileExpected]: 'unexpected text after the end of the value',
  [ParseErrorCode.InvalidCommentToken]: 'invalid comment',
  [ParseErrorCode.UnexpectedEndOfComment]: 'unterminated /* comment',
  [ParseErrorCode.UnexpectedEndOfString]: 'unterminated string',
  [ParseErrorCode.UnexpectedEndOfNumber]: 'invalid number',
  [ParseErrorCode.InvalidUnicode]: 'invalid \\u escape in a string',
  [ParseErrorCode.InvalidEscapeCharacter]: 'invalid escape sequence in a string',
  [ParseErrorCode.InvalidCharacter]: 'control character inside a string (write it as an escape, e.g. \\n)',
};

function describeChar(c: string): string {
  const code = c.charCodeAt(0);
  return code < 0x20 || code === 0x7f ? `character U+${code.toString(16).toUpperCase().padStart(4, '0')}` : `'${c}'`;
}

function describeError(text: string, error: ParseErrorCode, offset: number): string {
  const what = MESSAGES[error] ?? 'invalid JSON';
  const c = text[offset];
  if (c === undefined) return `unexpected end of input: ${what}`;
  if (error === ParseErrorCode.InvalidSymbol) return `unexpected ${describeChar(c)}`;
  return what;
}

/** Line and column (both from 1) of a character offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

class Failure {
  constructor(
    readonly message: string,
    readonly offset: number,
  ) {}
}

/** Parses JSON with comments and trailing commas. Never throws. */
export function parseJsonc(input: string): JsoncResult {
  const text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  // Values are built from the parser's events so that a "__proto__" key stays an own
  // property (as JSON.parse keeps it) instead of replacing an object's prototype.
  const stack: (Record<string, unknown> | unknown[])[] = [];
  const keys: string[] = [];
  let root: unknown;
  let seen = false;
  const put = (value: unknown): void => {
    const top = stack.at(-1);
    if (top === undefined) {
      root = value;
      seen = true;
    } else if (Array.isArray(top)) top.push(value);
    else Object.defineProperty(top, keys.at(-1) as string, { value, enumerable: true, writable: true, configurable: true });
  };
  const open = (container: Record<string, unknown> | unknown[], offset: number): void => {
    if (stack.length >= MAX_DEPTH) throw new Failure(`nested more than ${MAX_DEPTH} levels deep`, offset);
    put(container);
    stack.push(container);
  };
  try {
    visit(
      text,
      {
        onObjectBegin: (offset) => open({}, offset),
        onObjectProperty: (property) => keys.push(property),
        onObjectEnd: () => void stack.pop(),
        onArrayBegin: (offset) => open([], offset),
        onArrayEnd: () => void stack.pop(),
        onLiteralValue: (value) => put(value),
        onSeparator: () => {},
        onError: (error, offset) => {
          throw new Failure(describeError(text, error, offset), offset);
        },
      },
      { allowTrailingComma: true, disallowComments: false, allowEmptyContent: false },
    );
    // A property's key is consumed once its value is in place.
    if (!seen) throw new Failure('a value is missing', text.length);
    return { ok: true, value: root };
  } catch (e) {
    if (!(e instanceof Failure)) throw e;
    const { line, column } = lineColumn(text, e.offset);
    return { ok: false, error: `invalid JSON at line ${line}, column ${column}: ${e.message}` };
  }
}
