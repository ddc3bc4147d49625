/**
 * A real process whose command line makes backtracking regexes explode: a long run of
 * letters with no '!' after it, then 30 a's and a '!'. In a JavaScript RegExp,
 * `(\w+\s?)+!` and `(a+)+$` each take minutes on it. Stopped by pid in stopPathological().
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const LISTEN_PY = fileURLToPath(new URL('./listen.py', import.meta.url));
export const LONG_WORD = '--name=supercalifragilisticexpialidociousproject';
export const TAIL = `${'a'.repeat(30)}!`;

const holders: ChildProcess[] = [];

/** python3 holding one TCP listener on 127.0.0.1, with LONG_WORD and TAIL as its last arguments. */
export async function holdPathological(): Promise<{ pid: number; port: number }> {
  const child = spawn('python3', [LISTEN_PY, JSON.stringify([{ proto: 'tcp', host: '127.0.0.1' }]), LONG_WORD, TAIL], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  holders.push(child);
  const lines = createInterface({ input: child.stdout });
  const hello = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('socket holder did not answer within 10 s')), 10_000);
    lines.once('line', (l) => {
      clearTimeout(timer);
      resolve(l);
    });
    child.once('exit', (code) => reject(new Error(`socket holder exited with code ${code}`)));
  });
  const { pid, ports } = JSON.parse(hello) as { pid: number; ports: number[] };
  return { pid, port: ports[0] as number };
}

export async function stopPathological(): Promise<void> {
  for (const h of holders.splice(0)) {
    if (h.exitCode !== null || h.signalCode !== null) continue;
    const exited = new Promise((r) => h.once('exit', r));
    process.kill(h.pid as number, 'SIGKILL');
    await exited;
  }
}
