/**
 * `run --ready`, `--ready-exec` and `--timeout`. Ready is reported once, when the tree first
 * listens where --ready says; then the --ready-exec command runs with the first such
 * listener's port, host, URL and pid (placeholders and PORTWATCH_READY_* variables). Without
 * ready in time, COMMAND is stopped and the outcome is 1; with --exit-with-ready-exec, the
 * ready command's end stops COMMAND and its status becomes ours.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Listener } from '../listener.js';
import type { Rules } from '../rules/rules.js';
import type { PortWatcher } from '../watch/watcher.js';
import { fillPlaceholders } from './command-line.js';
import type { Reporter } from './events.js';
import { describeReadySpec, listenerUrl, readyListeners, urlHost, type ReadySpec } from './ready.js';
import { alive, spawnFailure, type RunOutcome } from './spawn-command.js';
import { SpawnedTree } from './spawned-tree.js';

export interface ReadinessOptions {
  command: string;
  rules: Pick<Rules, 'filter'>;
  ready?: ReadySpec | null;
  readyExec?: string[] | null;
  exitWithReadyExec?: boolean;
  timeoutMs?: number | null;
  report: Reporter;
  warn: (message: string) => void;
}

const now = (): string => new Date().toISOString();

export class Readiness {
  /** The --ready-exec command's tree, once it was spawned. */
  execTree: SpawnedTree | null = null;
  private done = false;
  private timedOut = false;
  private execOutcome: RunOutcome | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly o: ReadinessOptions,
    private readonly watcher: Pick<PortWatcher, 'snapshot'>,
    private readonly child: ChildProcess,
    private readonly stopCommand: () => void,
    /** The ready command's stdout goes to our stderr (when ours carries events). */
    private readonly toStderr: boolean,
  ) {}

  /** Reports ready (and starts --ready-exec) if the tree now listens where --ready says. */
  check(): void {
    const o = this.o;
    if (this.done || !o.ready || !alive(this.child)) return;
    const listeners = readyListeners(o.ready, this.watcher.snapshot(), o.rules.filter);
    if (listeners === null) return;
    this.done = true;
    if (this.timer) clearTimeout(this.timer);
    o.report({ type: 'ready', time: now(), listeners });
    if (listeners[0]) this.startExec(listeners[0]);
  }

  /** --timeout: stop COMMAND if it is not ready by then. */
  armTimeout(): void {
    const o = this.o;
    if (!o.ready || o.timeoutMs == null) return;
    const spec = o.ready;
    const ms = o.timeoutMs;
    this.timer = setTimeout(() => {
      if (this.done || !alive(this.child)) return;
      this.timedOut = true;
      const took = ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
      o.report({
        type: 'timeout',
        time: now(),
        message: `timed out after ${took} waiting for ${o.command} to listen on ${describeReadySpec(spec)}`,
      });
      this.stopCommand();
    }, ms);
  }

  /** COMMAND exited: no more timeout. */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
  }

  /** What `run` exits with, given how COMMAND exited; says so when it never got ready. */
  outcome(exit: RunOutcome): RunOutcome {
    const o = this.o;
    let outcome: RunOutcome = this.timedOut ? { code: 1, signal: null } : (this.execOutcome ?? exit);
    if (o.ready && !this.done && !this.timedOut) {
      o.warn(`${o.command} exited before it listened on ${describeReadySpec(o.ready)}`);
      // The ready command never ran: its status cannot be success.
      if (o.exitWithReadyExec && outcome.code === 0) outcome = { code: 1, signal: null };
    }
    return outcome;
  }

  private startExec(first: Listener): void {
    const o = this.o;
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
    const rc = spawn(cmd, args, { stdio: ['ignore', this.toStderr ? 2 : 'inherit', 'inherit'], env });
    if (rc.pid !== undefined) this.execTree = new SpawnedTree(rc.pid, { group: false, token: null });
    rc.once('error', (e: NodeJS.ErrnoException) => {
      const failure = spawnFailure(cmd, e);
      o.warn(`--ready-exec ${failure.message}`);
      if (o.exitWithReadyExec) {
        this.execOutcome = { code: failure.code, signal: null };
        this.stopCommand();
      }
    });
    rc.once('exit', (code, signal) => {
      o.report({ type: 'ready-exec', time: now(), command: words, code, signal });
      if (o.exitWithReadyExec && this.execOutcome === null) {
        this.execOutcome = { code, signal };
        this.stopCommand();
      }
    });
  }
}
