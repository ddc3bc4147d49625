/**
 * Signals while `run` runs. COMMAND leads its own session and process group, so that its
 * whole tree can be stopped; that takes it out of the terminal's foreground group, so what
 * the terminal would have sent it, portwatch sends it: Ctrl-C (SIGINT), Ctrl-\ (SIGQUIT), a
 * hang-up (SIGHUP), a window resize (SIGWINCH), Ctrl-Z (as SIGSTOP: the kernel discards
 * SIGTSTP sent to a group with no parent in its session) and the SIGCONT of `fg` or `bg`;
 * and SIGTERM. Once portwatch is stopping a tree, another SIGINT, SIGTERM, SIGHUP or
 * SIGQUIT skips the rest of the grace period. However portwatch exits (SIGKILL aside), a
 * last handler SIGKILLs whatever is left of the trees it started.
 */
import type { SpawnedTree } from './spawned-tree.js';

export const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const;

/** Installs the handlers; returns their removal. `trees()` is every tree started so far. */
export function guardTrees(command: SpawnedTree, trees: () => SpawnedTree[]): () => void {
  const forward = (signal: NodeJS.Signals): void => {
    if (!command.stopStarted) command.signal(signal);
    for (const t of trees()) if (t.stopStarted) t.hurry();
  };
  const resize = (): void => command.signal('SIGWINCH');
  const suspend = (): void => {
    command.signal('SIGSTOP');
    process.kill(process.pid, 'SIGSTOP'); // as the default action of SIGTSTP would
  };
  const resume = (): void => command.signal('SIGCONT');
  const lastResort = (): void => {
    for (const t of trees()) t.killNow();
  };
  for (const s of FORWARDED_SIGNALS) process.on(s, forward);
  process.on('SIGWINCH', resize);
  process.on('SIGTSTP', suspend);
  process.on('SIGCONT', resume);
  process.on('exit', lastResort);
  return () => {
    for (const s of FORWARDED_SIGNALS) process.off(s, forward);
    process.off('SIGWINCH', resize);
    process.off('SIGTSTP', suspend);
    process.off('SIGCONT', resume);
    process.off('exit', lastResort);
  };
}
