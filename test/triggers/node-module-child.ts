/** Node processes running an ES module body against the built package, for the tracefs tests; stopped by pid. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

const ROOT = new URL('../..', import.meta.url).pathname;
const children: ChildProcess[] = [];

/** A node process running `body` (an ES module) with the built package; its stdout as lines. */
export function node(body: string, env: NodeJS.ProcessEnv = {}): { child: ChildProcess; lines: string[] } {
  const child = spawn(process.execPath, ['--input-type=module', '-e', body], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  const lines: string[] = [];
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (l) => lines.push(l));
  return { child, lines };
}

export const exited = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));

/** SIGKILLs every child `node()` started that is still running (afterEach). */
export function killNodeChildren(): void {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  }
}
