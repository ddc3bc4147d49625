/**
 * Text from other processes (command lines, process names, page titles) made safe to show
 * to a person: characters a terminal or a browser would act on instead of showing are
 * written out visibly, as `ls -b` and `ps` do. Any local user chooses their own command
 * line, so printing it raw lets them move an admin's cursor, recolour or clear the screen
 * (`\x1b[…`), split one row into two (`\n`, `\r`) or reverse the order of what is read
 * (`\u202e`, "Trojan Source"). Machine-readable output (JSON) keeps the exact text.
 *
 * A backslash stays as it is. Doubling it (`ls -b`'s choice) would make the escaped text
 * reversible, but command lines are full of backslashes (regexes, `find … \;`, escaped
 * spaces) and every one of them would be shown wrong to serve a reversibility
 * that the JSON output already gives exactly. The cost: a command line holding the four
 * characters `\x1b` looks like one holding ESC, which is harmless (neither acts on the
 * terminal). The gain besides: escaping is idempotent, so a layer may escape text that
 * another layer already escaped without doubling anything.
 */

/**
 * The characters escaped, as a RegExp character class (ASCII source, so it can be embedded
 * in the page's script): C0 controls, DEL, C1 controls; the Unicode bidi controls (ALM, LRM,
 * RLM, the embeddings and overrides U+202A–U+202E, the isolates U+2066–U+2069); and the line
 * and paragraph separators U+2028/U+2029, which some viewers break lines at.
 */
export const UNSAFE_CHAR_CLASS = '[\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u2028-\\u202e\\u2066-\\u2069]';

const ANY_UNSAFE = new RegExp(UNSAFE_CHAR_CLASS);
const EACH_UNSAFE = new RegExp(UNSAFE_CHAR_CLASS, 'g');
const NAMED: Readonly<Record<string, string>> = { '\t': '\\t', '\n': '\\n', '\r': '\\r' };

function visible(c: string): string {
  const named = NAMED[c];
  if (named !== undefined) return named;
  const code = c.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** `a\x1b[31mb\n` (with a real ESC and newline) → the text `a\x1b[31mb\n`; anything else is returned unchanged. */
export function escapeControl(text: string): string {
  return ANY_UNSAFE.test(text) ? text.replace(EACH_UNSAFE, visible) : text;
}
