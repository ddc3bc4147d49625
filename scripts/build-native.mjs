#!/usr/bin/env node
/**
 * Builds the optional sock_diag addon (native/ → native/build/Release/portwatch_sockdiag.node).
 *
 * This is the package's install script, so by default it never fails: a machine without a
 * compiler, Python or Node headers still installs portwatch and uses the /proc and ss sources.
 * It then prints one line saying why. `--strict` (npm run build:native) exits non-zero instead
 * and shows node-gyp's output. PORTWATCH_SKIP_NATIVE=1 skips the build.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const NATIVE_DIR = path.join(ROOT, 'native');
const ADDON = path.join(NATIVE_DIR, 'build', 'Release', 'portwatch_sockdiag.node');
const BUILD_TIMEOUT_MS = 5 * 60_000;
const strict = process.argv.includes('--strict');

function skip(reason) {
  console.error(`portwatch: native sock_diag addon skipped (${reason}); falling back to /proc and ss`);
  process.exit(0);
}

function fail(reason, log) {
  if (strict && log) process.stderr.write(log.endsWith('\n') ? log : `${log}\n`);
  console.error(`portwatch: native sock_diag addon not built (${reason}); falling back to /proc and ss`);
  process.exit(strict ? 1 : 0);
}

function isExecutable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function runnerFor(file) {
  return /\.[cm]?js$/.test(file) ? { command: process.execPath, args: [file] } : { command: file, args: [] };
}

/**
 * npm exports npm_config_node_gyp (its bundled node-gyp.js) and puts a node-gyp shim on PATH
 * for lifecycle scripts. Run by hand, npm's bundled copy next to this node is the last resort.
 * Never `npx node-gyp`: that may download it.
 */
function findNodeGyp() {
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && existsSync(fromNpm)) return runnerFor(fromNpm);
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = dir && path.join(dir, 'node-gyp');
    if (candidate && isExecutable(candidate)) return { command: candidate, args: [] };
  }
  const bundled = path.resolve(path.dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js');
  return existsSync(bundled) ? runnerFor(bundled) : null;
}

/**
 * Without a nodedir node-gyp downloads headers from nodejs.org. Distribution and official
 * builds of node ship them at <prefix>/include/node, so point node-gyp there when they exist.
 */
function nodedirArgs() {
  if (process.env.npm_config_nodedir) return [];
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  return existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${prefix}`] : [];
}

/** One line out of node-gyp's log that a person can act on. */
function reasonFrom(log, status) {
  if (/\b(?:cc|gcc|c\+\+|g\+\+|clang): (?:not found|No such file or directory|command not found)/.test(log)) {
    return 'no C compiler found';
  }
  if (/gyp ERR! find Python/.test(log)) return 'no Python found for node-gyp';
  if (/gyp ERR! stack .*network connectivity/.test(log)) {
    return 'cannot download Node headers; set npm_config_nodedir to a Node install that has include/node';
  }
  const compileError = /\.c:\d+:\d+: error: (.+)/.exec(log);
  if (compileError?.[1]) return `compile error: ${compileError[1].trim()}`;
  const stack = /gyp ERR! stack Error: (.+)/.exec(log);
  if (stack?.[1]) return stack[1].trim();
  return `node-gyp exited with status ${status}`;
}

function build() {
  if (process.platform !== 'linux') skip('sock_diag exists only on Linux');
  if (process.env.PORTWATCH_SKIP_NATIVE === '1') skip('PORTWATCH_SKIP_NATIVE=1');

  const nodeGyp = findNodeGyp();
  if (!nodeGyp) fail('node-gyp not found');

  const result = spawnSync(nodeGyp.command, [...nodeGyp.args, 'rebuild', `--directory=${NATIVE_DIR}`, ...nodedirArgs()], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: BUILD_TIMEOUT_MS,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  if (result.error) fail(`cannot run node-gyp: ${result.error.message}`, log);
  if (result.status !== 0) fail(reasonFrom(log, result.status ?? result.signal), log);

  try {
    createRequire(import.meta.url)(ADDON);
  } catch (e) {
    fail(`built addon does not load: ${e instanceof Error ? e.message : String(e)}`, log);
  }
  console.error(`portwatch: native sock_diag addon built (${path.relative(ROOT, ADDON)})`);
}

build();
