/**
 * Starting COMMAND for `portwatch run`: spawned with a token in its environment
 * (PORTWATCH_RUN_ID), as the leader of its own session and process group, so that its whole
 * tree can be stopped as one, and guarded at once: signals a terminal would have sent it are
 * forwarded, and nothing it started outlives portwatch (signals.ts). Also how a command that
 * cannot start is told, with the shell's statuses (127 not found, 126 not runnable).
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import type { ProcReader } from '../rules/proc.js';
import { ProcessTree, RUN_TOKEN_ENV } from './process-tree.js';
import { guardTrees } from './signals.js';
import { SpawnedTree } from './spawned-tree.js';

export interface RunOutcome {
  /** Exit code to exit with, or null when `signal` is set. */
  code: number | null;
  /** The signal that killed COMMAND, to be raised on ourselves. */
  signal: NodeJS.Signals | null;
}

export interface CommandSpec {
  command: string;
  args: string[];
  /** Pipe its stdout/stderr (to look for hints); else it gets our stdio as is. */
  piped: boolean;
  /** Its stdout goes to our stderr (when ours carries events). */
  toStderr: boolean;
}

export interface SpawnedCommand {
  child: ChildProcess;
  /** Which processes are COMMAND's tree; null when it got no process id. */
  tree: ProcessTree | null;
  /** Its process group, to stop; null when it got no process id. */
  group: SpawnedTree | null;
  /** Takes the guard off (once what is left of the trees was stopped). */
  release: () => void;
  /** null once it runs, else why it could not start. */
  started: Promise<NodeJS.ErrnoException | null>;
}

/**
 * Spawns COMMAND. Its tree is known as soon as this returns (a scan may come before the
 * spawn is confirmed); `other` is one more tree to stop with it (--ready-exec's), if any.
 */
export function spawnCommand(o: CommandSpec, token: string, reader: ProcReader, other: () => SpawnedTree | null): SpawnedCommand {
  const stdio: StdioOptions = o.piped ? ['inherit', 'pipe', 'pipe'] : ['inherit', o.toStderr ? 2 : 'inherit', 'inherit'];
  // detached: its own session and process group, which can be signalled as one.
  const child = spawn(o.command, o.args, { stdio, detached: true, env: { ...process.env, [RUN_TOKEN_ENV]: token } });
  let tree: ProcessTree | null = null;
  let group: SpawnedTree | null = null;
  let release = (): void => {};
  if (child.pid !== undefined) {
    const placed = new ProcessTree(child.pid, reader, token);
    tree = placed;
    group = new SpawnedTree(child.pid, { group: true, token, known: () => placed.placed() });
    const trees = [group];
    release = guardTrees(group, () => {
      const more = other();
      return more === null ? trees : [...trees, more];
    });
  }
  const started = new Promise<NodeJS.ErrnoException | null>((resolve) => {
    child.once('spawn', () => resolve(null));
    child.once('error', (e) => resolve(e));
  });
  return { child, tree, group, release, started };
}

export function alive(child: ChildProcess | null): child is ChildProcess {
  return child !== null && child.exitCode === null && child.signalCode === null;
}

export function spawnFailure(command: string, e: NodeJS.ErrnoException): { message: string; code: number } {
  if (e.code === 'ENOENT') return { message: `${command}: command not found`, code: 127 };
  if (e.code === 'EACCES') return { message: `${command}: permission denied`, code: 126 };
  return { message: `${command}: cannot start: ${e.message}`, code: 126 };
}

export function exitOf(child: ChildProcess): Promise<RunOutcome> {
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}
