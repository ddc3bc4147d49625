/**
 * `portwatch run`: runs a command with its stdio passed through and reports the ports its
 * process tree opens and closes — nothing else on the machine.
 *
 *   1. A watcher takes the initial state first, so every port of the tree is an `open`.
 *   2. The child is spawned with a token in its environment (PORTWATCH_RUN_ID).
 *   3. Each listener is placed, once, when it appears: in the tree when its ppid chain
 *      reaches the child (or it carries the token), else never reported.
 *   4. URLs and "port N" in the child's output trigger an immediate rescan (and a few
 *      follow-ups while the hinted port has not appeared): the socket table stays the truth.
 *   5. The child leads its own session and process group, so the whole tree can be
 *      stopped; signals a terminal would have sent it are forwarded (signals.ts). Its exit
 *      status becomes ours.
 *   6. When the child exits, one last scan; listeners its descendants still hold are
 *      reported as orphans. Then what is left of the tree is stopped (spawned-tree.ts),
 *      and whatever survives even SIGKILL is named.
 *
 * The parts live beside it: spawning and guarding (spawn-command.ts), --ready, --ready-exec
 * and --timeout (readiness.ts), the output and its hints (output-hints.ts).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Listener, ProcessInfo } from '../listener.js';
import type { SocketFields } from '../scan.js';
import { procReader, type ProcReader } from '../rules/proc.js';
import type { Rules } from '../rules/rules.js';
import { PortWatcher, type TickEvent, type WatchOptions } from '../watch/watcher.js';
import type { Reporter } from './events.js';
import { drained, HintFollowUps, teeOutput } from './output-hints.js';
import type { ProcessTree } from './process-tree.js';
import type { ReadySpec } from './ready.js';
import { Readiness } from './readiness.js';
import { exitOf, spawnCommand, spawnFailure, type RunOutcome } from './spawn-command.js';
import type { PortHint } from './url-hints.js';

export { HINT_FOLLOW_UPS_MS } from './output-hints.js';
export type { RunOutcome } from './spawn-command.js';

export interface RunOptions {
  command: string;
  args: string[];
  /** How to scan (source, interval…); the filter is run's own. */
  watch?: Omit<WatchOptions, 'filter' | 'signal' | 'persistent' | 'netnsPid'>;
  /** Which of the tree's listeners are reported (ignore, silent) and what they are called. */
  rules: Pick<Rules, 'filter' | 'announce' | 'label'>;
  ready?: ReadySpec | null;
  /** Words of the command to run once ready; may contain {port}, {host}, {url}, {pid}. */
  readyExec?: string[] | null;
  /** Stop COMMAND when the --ready-exec command ends, and exit with its status. */
  exitWithReadyExec?: boolean;
  /** Give up on --ready after this many ms: COMMAND is stopped and the outcome is 1. */
  timeoutMs?: number | null;
  /** Pipe the child's stdout/stderr to look for URL hints (default true); false gives it our stdio as is. */
  hints?: boolean;
  /** Where the child's stdout goes: ours (default) or our stderr (when ours carries events). */
  childStdout?: 'stdout' | 'stderr';
  report: Reporter;
  /** Problems worth a line on stderr (a command that cannot start…). */
  warn: (message: string) => void;
  /** Scan failures (the watcher retries). */
  onScanError?: (error: Error) => void;
  /** Every scan the watcher makes (its source, trigger, cost, owner walks): `--log-level debug`. */
  onTick?: (tick: TickEvent) => void;
  /** Time between SIGTERM and SIGKILL when portwatch stops a process tree (default 5 s). */
  stopGraceMs?: number;
  procReader?: ProcReader;
}

/** How long to let the child's last output through once it has exited (pipes an orphan keeps open). */
const OUTPUT_DRAIN_MS = 500;
/** Bound on the last scan after the child exited. */
const FINAL_SCAN_MS = 5_000;

const now = (): string => new Date().toISOString();

/** Asks for a scan and resolves once one has been applied (or failed, or `ms` passed). */
function nextScan(watcher: PortWatcher, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      watcher.off('scan', done);
      watcher.off('error', done);
      resolve(); // 'scan' comes just before the diff is applied; the continuation runs after it
    }
    watcher.on('scan', done);
    watcher.on('error', done);
    watcher.rescan();
  });
}

export async function runCommand(o: RunOptions): Promise<RunOutcome> {
  const grace = o.stopGraceMs ?? 5_000;
  const reader = o.procReader ?? procReader();
  const token = `${process.pid}-${randomBytes(8).toString('hex')}`;
  const visible = (l: Listener): boolean => o.rules.filter(l) && o.rules.announce(l);

  // Placed once per process, at first sight: a member reparented to init later stays one.
  let tree: ProcessTree | null = null;
  const placed = new WeakMap<ProcessInfo, boolean>();
  const inTree = (l: Listener): boolean => {
    if (tree === null || l.process === null) return false;
    let member = placed.get(l.process);
    if (member === undefined) {
      member = tree.contains(l.process.pid);
      placed.set(l.process, member);
    }
    return member;
  };

  // Sockets that exist before the command is spawned can never be its own: they are not
  // attributed at all, so on a busy host the command starts after one socket-table read
  // instead of after a walk over every process's fds.
  const userSelect = o.watch?.select;
  const select = (s: SocketFields): boolean => tree !== null && (userSelect === undefined || userSelect(s));
  const watcher = new PortWatcher({ ...o.watch, select, filter: inTree, persistent: true });
  if (o.onTick !== undefined) watcher.on('tick', o.onTick);
  await new Promise<void>((resolve) => {
    watcher.once('ready', () => resolve());
    watcher.on('error', (e) => {
      o.onScanError?.(e);
      resolve(); // a failing source must not keep the command from starting
    });
  });

  // Spawn.
  const piped = o.hints ?? true;
  const toStderr = o.childStdout === 'stderr';
  let readiness: Readiness | null = null;
  const spawned = spawnCommand({ command: o.command, args: o.args, piped, toStderr }, token, reader, () => readiness?.execTree ?? null);
  tree = spawned.tree;
  const { child, release } = spawned;
  const started = await spawned.started;
  if (started !== null || spawned.group === null) {
    release();
    await watcher.close();
    const failure = spawnFailure(o.command, started ?? new Error('no process id'));
    o.warn(failure.message);
    o.report({ type: 'exit', time: now(), code: failure.code, signal: null });
    return { code: failure.code, signal: null };
  }
  const childExit = exitOf(child);
  const command = spawned.group;
  const ready = new Readiness(o, watcher, child, () => void command.stop(grace), toStderr);
  readiness = ready;
  const hints = new HintFollowUps(watcher);

  // Reports.
  watcher.on('open', (e) => {
    if (visible(e.listener)) o.report(e);
  });
  watcher.on('close', (e) => {
    if (visible(e.listener)) o.report(e);
  });
  // Only when the first scans failed does `ready` come after the spawn: the tree's listeners in it are new.
  watcher.on('ready', (initial) => {
    const time = now();
    for (const listener of initial) if (visible(listener)) o.report({ type: 'open', time, listener });
    ready.check();
  });
  watcher.on('change', (c) => {
    hints.opened(c.opened);
    ready.check();
  });

  // Hints.
  if (piped) {
    const host = hostname();
    const onHints = (found: PortHint[]): void => hints.push(found);
    teeOutput(child.stdout, toStderr ? process.stderr : process.stdout, host, onHints);
    teeOutput(child.stderr, process.stderr, host, onHints);
  }

  ready.armTimeout();
  ready.check(); // the tree may already listen (a failing first scan, then a good one)

  // The end.
  const exit = await childExit;
  ready.stop();
  hints.stop();
  // Two rescans: the first may have been under way before the exit; the second surely was not.
  await nextScan(watcher, FINAL_SCAN_MS);
  await nextScan(watcher, FINAL_SCAN_MS);
  const time = now();
  for (const listener of watcher.snapshot()) if (o.rules.filter(listener)) o.report({ type: 'orphan', time, listener });
  await watcher.close();
  // What is left of both trees; the handlers stay until then, so a second Ctrl-C can hurry it.
  const survivors = (await Promise.all([command.stop(grace), ready.execTree?.stop(grace) ?? []])).flat();
  for (const p of survivors) o.report({ type: 'still-running', time: now(), pid: p.pid, name: p.name });
  release();
  if (piped) {
    await drained([child.stdout, child.stderr], OUTPUT_DRAIN_MS);
    child.stdout?.destroy();
    child.stderr?.destroy();
  }
  const outcome = ready.outcome(exit);
  o.report({ type: 'exit', time: now(), code: outcome.code, signal: outcome.signal });
  return outcome;
}
