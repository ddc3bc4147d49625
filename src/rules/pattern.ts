/**
 * The one way a user's regular expression is compiled: `--process`, config rules,
 * devcontainer `portsAttributes` keys and the MCP `process` argument. These patterns come
 * from files picked up from the working directory and from agents, and are tested against
 * every listener's command line, so a backtracking engine would let `(a+)+$` stall a scan
 * (or serve's whole event loop) for minutes. RE2 (here its pure-JS port) matches in time
 * linear in the input, as Prometheus and Grafana do for the same reason.
 *
 * Patterns are written as JavaScript regexes are: they go through re2js's JS→RE2
 * translation first, so `\u0041`, `(?<name>…)`, `[^]` and `\/` keep working. What RE2
 * cannot do in linear time (backreferences, lookaround) is refused with a reason.
 */
import { RE2JS } from 're2js';
import { PortwatchError } from '../errors.js';

export interface Pattern {
  /** The pattern as the user wrote it. */
  readonly source: string;
  /** Whether the pattern matches anywhere in `text` (as RegExp.prototype.test). */
  test(text: string): boolean;
}

/**
 * Matching costs up to (program size × input length); command lines are at most 4 KiB,
 * so this keeps one test in the tens of milliseconds even when RE2's DFA gives up and
 * falls back to its NFA. Ordinary patterns are a few dozen instructions; only large `{n}`
 * repeats come near it.
 */
export const MAX_PATTERN_PROGRAM = 1000;
/** Compiling is linear in the text too, but a megabyte pattern still takes seconds. */
export const MAX_PATTERN_LENGTH = 4096;

const LINEAR_TIME = 'portwatch matches patterns with RE2 syntax, in linear time';

/** Text for a one-line message: control characters escaped, long text cut. */
function shown(text: string, max: number): string {
  const cut = text.length > max ? `${text.slice(0, max)}…` : text;
  // eslint-disable-next-line no-control-regex
  return cut.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function usage(text: string, reason: string): PortwatchError {
  // The engine's reason quotes part of the pattern, so it is cut and escaped as well.
  return new PortwatchError('EUSAGE', `invalid regular expression '${shown(text, 80)}': ${shown(reason, 200)}`);
}

/** `\k<name>` outside a class: the translation would quietly make it the literal `k<name>`. */
function hasNamedBackreference(text: string): boolean {
  let inClass = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') {
      if (!inClass && text[i + 1] === 'k' && text[i + 2] === '<') return true;
      i++; // the escaped character, so `\\k<` is a backslash and a literal k
    } else if (c === '[') inClass = true;
    else if (c === ']') inClass = false;
  }
  return false;
}

/** A reason a user can act on, for what RE2's parser says. */
function reasonFor(e: unknown): string {
  const description = e instanceof Error ? e.message.replace(/^error parsing regexp: /, '') : String(e);
  if (/^invalid escape sequence: `\\[1-9]/.test(description)) return `backreferences like \\1 are not supported (${LINEAR_TIME})`;
  if (/^invalid or unsupported Perl syntax: `\(\?[=!]/.test(description)) return `lookahead (?= and (?! is not supported (${LINEAR_TIME})`;
  if (/^invalid named capture: `\(\?<[=!]/.test(description)) return `lookbehind (?<= and (?<! is not supported (${LINEAR_TIME})`;
  return description;
}

/** Compiles a user's pattern. Throws PortwatchError('EUSAGE') naming the pattern and why. */
export function compilePattern(text: string): Pattern {
  if (text.length > MAX_PATTERN_LENGTH)
    throw usage(text, `longer than ${MAX_PATTERN_LENGTH} characters (${text.length}); match on a shorter part of the name or command`);
  if (hasNamedBackreference(text)) throw usage(text, `backreferences like \\k<name> are not supported (${LINEAR_TIME})`);
  let re: RE2JS;
  try {
    re = RE2JS.compile(RE2JS.translateRegExp(text));
  } catch (e) {
    // Whatever the engine throws for a pattern (its syntax errors, or a RangeError for one
    // nested past its limits) is the pattern's fault, not portwatch's.
    throw usage(text, reasonFor(e));
  }
  const size = re.programSize();
  if (size > MAX_PATTERN_PROGRAM)
    throw usage(
      text,
      `too complex to match quickly (${size} instructions, at most ${MAX_PATTERN_PROGRAM}); use smaller {n} repeats or a simpler pattern`,
    );
  return { source: text, test: (input) => re.test(input) };
}
