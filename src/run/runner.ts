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
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';
import type { Listener, ProcessInfo } from '../listener.js';
import type { SocketFields } from '../scan.js';
import { procReader, type ProcReader } from '../rules/proc.js';
import type { Rules } from '../rules/rules.js';
import { PortWatcher, type TickEvent, type WatchOptions } from '../watch/watcher.js';
import { fillPlaceholders } from './command-line.js';
import type { Reporter } from './events.js';
import { ProcessTree, RUN_TOKEN_ENV } from './process-tree.js';
import { describeReadySpec, listenerUrl, readyListeners, urlHost, type ReadySpec } from './ready.js';
import { guardTrees } from './signals.js';
import { SpawnedTree } from './spawned-tree.js';
import { HintScanner, type PortHint } from './url-hints.js';

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

export interface RunOutcome {
  /** Exit code to exit with, or null when `signal` is set. */
  code: number | null;
  /** The signal that killed COMMAND, to be raised on ourselves. */
  signal: NodeJS.Signals | null;
}

/** Follow-up rescans after a hint, while the hinted port has not shown up (ms after the previous). */
export const HINT_FOLLOW_UPS_MS = [100, 300, 1_000, 3_000] as const;
/** How long to let the child's last output through once it has exited (pipes an orphan keeps open). */
const OUTPUT_DRAIN_MS = 500;
/** Bound on the last scan after the child exited. */
const FINAL_SCAN_MS = 5_000;

const now = (): string => new Date().toISOString();

function alive(child: ChildProcess | null): child is ChildProcess {
  return child !== null && child.exitCode === null && child.signalCode === null;
}

function spawnFailure(command: string, e: NodeJS.ErrnoException): { message: string; code: number } {
  if (e.code === 'ENOENT') return { message: `${command}: command not found`, code: 127 };
  if (e.code === 'EACCES') return { message: `${command}: permission denied`, code: 126 };
  return { message: `${command}: cannot start: ${e.message}`, code: 126 };
}

function exitOf(child: ChildProcess): Promise<RunOutcome> {
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/** Resolves on the end of both streams, or after `ms` (an orphan may hold them open forever). */
function drained(streams: (Readable | null)[], ms: number): Promise<void> {
  const open = streams.filter((s): s is Readable => s !== null && !s.readableEnded && !s.destroyed);
  if (open.length === 0) return Promise.resolve();
  return new Promise((resolve) => {
    let left = open.length;
    const timer = setTimeout(resolve, ms);
    for (const s of open)
      s.once('close', () => {
        if (--left === 0) {
          clearTimeout(timer);
          resolve();
        }
      });
  });
}

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
  const stdio: StdioOptions = piped ? ['inherit', 'pipe', 'pipe'] : ['inherit', toStderr ? 2 : 'inherit', 'inherit'];
  // detached: its own session and process group, which can be signalled as one.
  const child = spawn(o.command, o.args, { stdio, detached: true, env: { ...process.env, [RUN_TOKEN_ENV]: token } });
  let commandTree: SpawnedTree | null = null;
  let readyTree = null as SpawnedTree | null; // set in a callback: keep TS from narrowing it to null
  let release = (): void => {};
  if (child.pid !== undefined) {
    const placed = new ProcessTree(child.pid, reader, token);
    tree = placed;
    commandTree = new SpawnedTree(child.pid, { group: true, token, known: () => placed.placed() });
    const trees = [commandTree];
    release = guardTrees(commandTree, () => (readyTree === null ? trees : [...trees, readyTree]));
  }
  const started = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
    child.once('spawn', () => resolve(null));
    child.once('error', (e) => resolve(e));
  });
  if (started !== null || commandTree === null) {
    release();
    await watcher.close();
    const failure = spawnFailure(o.command, started ?? new Error('no process id'));
    o.warn(failure.message);
    o.report({ type: 'exit', time: now(), code: failure.code, signal: null });
    return { code: failure.code, signal: null };
  }
  const childExit = exitOf(child);
  const command = commandTree;
  const stopCommand = (): void => void command.stop(grace);

  // Reports.
  const hinted = new Set<number>(); // ports hinted at in the output that have not appeared yet
  let readyDone = false;
  let timedOut = false;
  let readyExecOutcome: RunOutcome | null = null;
  let timeoutTimer: NodeJS.Timeout | null = null;

  const startReadyExec = (first: Listener): void => {
    if (!o.readyExec) return;
    const words = fillPlaceholders(o.readyExec, {
      port: String(first.port),
      host: urlHost(first),
      url: listenerUrl(first),
      pid: String(first.process?.pid ?? ''),
    });
    const [cmd, ...args] = words as [string, ...string[]];
    const env = {
      ...process.env,
      PORTWATCH_READY_PORT: String(first.port),
      PORTWATCH_READY_HOST: urlHost(first),
      PORTWATCH_READY_URL: listenerUrl(first),
      PORTWATCH_READY_PID: String(first.process?.pid ?? ''),
    };
    // In our process group, as before: a terminal's Ctrl-C reaches it directly.
    const rc = spawn(cmd, args, { stdio: ['ignore', toStderr ? 2 : 'inherit', 'inherit'], env });
    if (rc.pid !== undefined) readyTree = new SpawnedTree(rc.pid, { group: false, token: null });
    rc.once('error', (e: NodeJS.ErrnoException) => {
      const failure = spawnFailure(cmd, e);
      o.warn(`--ready-exec ${failure.message}`);
      if (o.exitWithReadyExec) {
        readyExecOutcome = { code: failure.code, signal: null };
        stopCommand();
      }
    });
    rc.once('exit', (code, signal) => {
      o.report({ type: 'ready-exec', time: now(), command: words, code, signal });
      if (o.exitWithReadyExec && readyExecOutcome === null) {
        readyExecOutcome = { code, signal };
        stopCommand();
      }
    });
  };

  const checkReady = (): void => {
    if (readyDone || !o.ready || !alive(child)) return;
    const listeners = readyListeners(o.ready, watcher.snapshot(), o.rules.filter);
    if (listeners === null) return;
    readyDone = true;
    if (timeoutTimer) clearTimeout(timeoutTimer);
    o.report({ type: 'ready', time: now(), listeners });
    if (listeners[0]) startReadyExec(listeners[0]);
  };

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
    checkReady();
  });
  watcher.on('change', (c) => {
    for (const l of c.opened) hinted.delete(l.port);
    checkReady();
  });

  // Hints.
  let followUp: NodeJS.Timeout | null = null;
  const armFollowUp = (step: number): void => {
    if (followUp) clearTimeout(followUp);
    followUp = null;
    const delay = HINT_FOLLOW_UPS_MS[step];
    if (delay === undefined || hinted.size === 0) {
      hinted.clear();
      return;
    }
    followUp = setTimeout(() => {
      followUp = null;
      if (hinted.size === 0) return;
      watcher.rescan();
      armFollowUp(step + 1);
    }, delay);
  };
  const onHints = (hints: PortHint[]): void => {
    if (hints.length === 0) return;
    const known = new Set(watcher.snapshot().map((l) => l.port));
    const fresh = hints.filter((h) => !known.has(h.port));
    if (fresh.length === 0) return;
    for (const h of fresh) hinted.add(h.port);
    watcher.rescan();
    armFollowUp(0);
  };
  if (piped) {
    const host = hostname();
    const tee = (from: Readable | null, to: NodeJS.WriteStream): void => {
      if (from === null) return;
      const decoder = new StringDecoder('utf8');
      const scanner = new HintScanner(host);
      from.pipe(to, { end: false });
      // Our reader went away (`portwatch run … | head`): stop reading, as a shell pipe would,
      // so COMMAND gets EPIPE / SIGPIPE on its next write instead of portwatch dying.
      to.once('error', () => {
        from.unpipe(to);
        from.destroy();
      });
      from.on('data', (chunk: Buffer) => onHints(scanner.push(decoder.write(chunk))));
      from.on('end', () => onHints(scanner.push(decoder.end()).concat(scanner.flush())));
    };
    tee(child.stdout, toStderr ? process.stderr : process.stdout);
    tee(child.stderr, process.stderr);
  }

  if (o.ready && o.timeoutMs != null) {
    const spec = o.ready;
    const ms = o.timeoutMs;
    timeoutTimer = setTimeout(() => {
      if (readyDone || !alive(child)) return;
      timedOut = true;
      const took = ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
      o.report({
        type: 'timeout',
        time: now(),
        message: `timed out after ${took} waiting for ${o.command} to listen on ${describeReadySpec(spec)}`,
      });
      stopCommand();
    }, ms);
  }
  checkReady(); // the tree may already listen (a failing first scan, then a good one)

  // The end.
  const exit = await childExit;
  if (timeoutTimer) clearTimeout(timeoutTimer);
  if (followUp) clearTimeout(followUp);
  // Two rescans: the first may have been under way before the exit; the second surely was not.
  await nextScan(watcher, FINAL_SCAN_MS);
  await nextScan(watcher, FINAL_SCAN_MS);
  const time = now();
  for (const listener of watcher.snapshot()) if (o.rules.filter(listener)) o.report({ type: 'orphan', time, listener });
  await watcher.close();
  // What is left of both trees; the handlers stay until then, so a second Ctrl-C can hurry it.
  const survivors = (await Promise.all([command.stop(grace), readyTree?.stop(grace) ?? []])).flat();
  for (const p of survivors) o.report({ type: 'still-running', time: now(), pid: p.pid, name: p.name });
  release();
  if (piped) {
    await drained([child.stdout, child.stderr], OUTPUT_DRAIN_MS);
    child.stdout?.destroy();
    child.stderr?.destroy();
  }
  let outcome: RunOutcome = timedOut ? { code: 1, signal: null } : (readyExecOutcome ?? exit);
  if (o.ready && !readyDone && !timedOut) {
    o.warn(`${o.command} exited before it listened on ${describeReadySpec(o.ready)}`);
    // The ready command never ran: its status cannot be success.
    if (o.exitWithReadyExec && outcome.code === 0) outcome = { code: 1, signal: null };
  }
  o.report({ type: 'exit', time: now(), code: outcome.code, signal: outcome.signal });
  return outcome;
}
