/**
 * Real process trees for PORTWATCH_IGNORE tests: `sh` (environment as given) runs the
 * socket holder, optionally through `env -i` so that the holder itself carries no marker
 * and only its ancestry says it. Every process is stopped by pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const LISTEN_PY = fileURLToPath(new URL('../helpers/listen.py', import.meta.url));
const trees = new Set<ChildProcess>();

export interface Tree {
  shellPid: number;
  holderPid: number;
  port: number;
}

export async function startTree(env: NodeJS.ProcessEnv, options: { scrub: boolean }): Promise<Tree> {
  const holder = options.scrub ? ['env', '-i', `PATH=${process.env.PATH ?? '/usr/bin:/bin'}`, 'python3'] : ['python3'];
  const spec = JSON.stringify([{ proto: 'tcp', host: '127.0.0.1' }]);
  // `; exit 0` keeps sh alive as the holder's parent (no exec).
  const sh = spawn('sh', ['-c', '"$@"; exit 0', 'sh', ...holder, LISTEN_PY, spec], { env, stdio: ['pipe', 'pipe', 'inherit'] });
  trees.add(sh);
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: sh.stdout as NodeJS.ReadableStream });
    rl.once('line', (l) => {
      rl.close();
      resolve(l);
    });
    sh.once('exit', (code) => reject(new Error(`the tree exited early with ${code}`)));
  });
  const hello = JSON.parse(line) as { pid: number; ports: number[] };
  return { shellPid: sh.pid as number, holderPid: hello.pid, port: hello.ports[0] as number };
}

export async function stopTrees(): Promise<void> {
  await Promise.all(
    [...trees].map(
      (sh) =>
        new Promise<void>((resolve) => {
          trees.delete(sh);
          if (sh.exitCode !== null || sh.signalCode !== null) return resolve();
          sh.once('exit', () => resolve());
          sh.stdin?.end(); // the holder exits on EOF, then sh does
          setTimeout(() => sh.kill('SIGKILL'), 5_000).unref();
        }),
    ),
  );
}
