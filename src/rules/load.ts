/**
 * Finding and reading the config file. `--config FILE` names one (it must exist);
 * otherwise the first of portwatch.json, .devcontainer/devcontainer.json and
 * .devcontainer.json found in the working directory or the nearest parent directory that
 * has one is used. No file is fine: the implicit rules (PORTWATCH_IGNORE, own listeners)
 * still apply.
 */
import { statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { readAtMost, type AtMost } from '../owners/read-bounded.js';
import { configUsageError } from './config-error.js';
import { EMPTY_RULE_SET, parseConfigText, type RuleSet } from './config.js';
import { createRules, type RuleBehaviour, type Rules } from './rules.js';

export const CONFIG_FILE_NAMES = ['portwatch.json', '.devcontainer/devcontainer.json', '.devcontainer.json'] as const;
export const CONFIG_MAX_BYTES = 1024 * 1024;

export interface LoadRulesOptions extends RuleBehaviour {
  /** Read this file (relative to cwd); a missing file is an error. */
  configPath?: string;
  /** Where to look for a config file, and what configPath is relative to (default: process.cwd()). */
  cwd?: string;
  /** Look for a config file when configPath is not given (default true); false uses none. */
  discover?: boolean;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The config file that applies in `cwd`, or null. Bounded: at most one step per directory level. */
export function findConfigFile(cwd: string): string | null {
  let dir = resolve(cwd);
  for (let level = 0; level < 256; level++) {
    for (const name of CONFIG_FILE_NAMES) {
      const candidate = join(dir, name);
      if (isFile(candidate)) return candidate;
    }
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
  return null;
}

function reasonFor(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'cannot be read: permission denied';
    case 'EISDIR':
      return 'is a directory, not a config file';
    default:
      return `cannot be read: ${e.code ?? e.message}`;
  }
}

/** Reads and compiles a config file. Throws PortwatchError('EUSAGE', '<shown>: <reason>'). */
export function readConfigFile(path: string, shown = path): RuleSet {
  // The read itself is bounded, not checked against a stat size: /dev/zero and a FIFO report 0.
  let read: AtMost;
  try {
    read = readAtMost(path, CONFIG_MAX_BYTES);
  } catch (e) {
    throw configUsageError(shown, reasonFor(e as NodeJS.ErrnoException));
  }
  if (read.more) throw configUsageError(shown, `is larger than ${CONFIG_MAX_BYTES / 1024 / 1024} MiB`);
  const text = read.bytes.toString('utf8');
  return parseConfigText(text, shown);
}

/**
 * The rules in effect: the config file (explicit or found) plus the implicit ones. This is
 * what list, watch, run, serve and mcp use; pass `filter`, `label` and `announce` on.
 */
export function loadRules(options: LoadRulesOptions = {}): Rules {
  const cwd = options.cwd ?? process.cwd();
  const { configPath, discover = true, ...behaviour } = options;
  if (configPath !== undefined) {
    return createRules(readConfigFile(resolve(cwd, configPath), configPath), configPath, behaviour);
  }
  const found = discover ? findConfigFile(cwd) : null;
  if (found === null) return createRules(EMPTY_RULE_SET, null, behaviour);
  return createRules(readConfigFile(found), found, behaviour);
}
