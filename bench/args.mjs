/**
 * parseArgs for the benches, with what users of the CLI get: `--help` prints the usage (the
 * bench's own header comment), and a flag it does not know is one line and exit status 2, not
 * a stack trace.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/** The header comment of the bench at `url`, without its comment markers. */
function headerOf(url) {
  const text = readFileSync(fileURLToPath(url), 'utf8');
  const block = /\/\*\*([\s\S]*?)\*\//.exec(text)?.[1] ?? '';
  return block
    .split('\n')
    .map((line) => line.replace(/^\s*\* ?/, ''))
    .join('\n')
    .trim();
}

/** `config` as for node:util's parseArgs; `url` is the bench's import.meta.url. */
export function benchArgs(config, url) {
  const name = basename(fileURLToPath(url), '.mjs');
  let parsed;
  try {
    parsed = parseArgs({ ...config, options: { ...config.options, help: { type: 'boolean', short: 'h' } } });
  } catch (e) {
    console.error(`${name}: ${e.message} (--help for usage)`);
    process.exit(2);
  }
  if (parsed.values.help) {
    console.log(headerOf(url));
    process.exit(0);
  }
  delete parsed.values.help;
  return parsed;
}
