/**
 * `--ready-exec 'curl -fsS {url}'`: the command is split into words here, as a shell would
 * split them (quotes and backslashes), but never run by a shell: no expansion, no pipes, no
 * injection. Placeholders {port}, {host}, {url} and {pid} are filled in per word.
 * Pure; bad input is a PortwatchError('EUSAGE').
 */
import { PortwatchError } from '../errors.js';

/** Splits a command line into words: 'single' and "double" quotes, backslash escapes. */
export function splitCommandLine(text: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: "'" | '"' | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quote === "'") {
      if (c === "'") quote = null;
      else word += c;
    } else if (quote === '"') {
      if (c === '"') quote = null;
      else if (c === '\\' && i + 1 < text.length && '"\\$`'.includes(text[i + 1] as string)) word += text[++i];
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\') {
      if (i + 1 >= text.length) throw new PortwatchError('EUSAGE', `invalid command '${text}': it ends with a lone backslash`);
      word += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote !== null)
    throw new PortwatchError('EUSAGE', `invalid command '${text}': a ${quote === "'" ? 'single' : 'double'} quote is not closed`);
  if (inWord) words.push(word);
  if (words.length === 0) throw new PortwatchError('EUSAGE', 'empty command: give the program to run, e.g. --ready-exec "npm test"');
  return words;
}

export interface Placeholders {
  port: string;
  host: string;
  url: string;
  pid: string;
}

/** Replaces {port}, {host}, {url} and {pid} in each word; other braces are left alone. */
export function fillPlaceholders(words: readonly string[], values: Placeholders): string[] {
  return words.map((w) => w.replace(/\{(port|host|url|pid)\}/g, (_, name: keyof Placeholders) => values[name]));
}
