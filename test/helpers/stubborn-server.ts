/**
 * A server that ignores SIGTERM (as a hung or badly written one does), for kill / freePort /
 * stop_port: only SIGKILL ends it. Every one started is stopped by pid in stopStubborn().
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

const STUBBORN_PY = `
import signal, socket, sys, threading, os
signal.signal(signal.SIGTERM, signal.SIG_IGN)
threading.Timer(300, lambda: os._exit(3)).start()  # bounded: never outlives a test run
proto, host = sys.argv[1], sys.argv[2]
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
s.bind((host, 0))
if proto == "tcp":
    s.listen()
print(s.getsockname()[1], flush=True)
threading.Event().wait()
`;

const started = new Set<ChildProcess>();

export interface Stubborn {
  pid: number;
  port: number;
  /** Resolves with the signal that ended it. */
  ended: Promise<NodeJS.Signals | null>;
  alive(): boolean;
}

export async function startStubborn(proto: 'tcp' | 'udp' = 'tcp', host = '127.0.0.1'): Promise<Stubborn> {
  const child = spawn('python3', ['-c', STUBBORN_PY, proto, host], { stdio: ['ignore', 'pipe', 'inherit'] });
  started.add(child);
  const ended = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the stubborn server did not start within 10 s')), 10_000);
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      resolve(Number(line));
    });
    child.once('exit', () => reject(new Error('the stubborn server exited before listening')));
  });
  return { pid: child.pid!, port, ended, alive: () => child.exitCode === null && child.signalCode === null };
}

export async function stopStubborn(): Promise<void> {
  await Promise.all(
    [...started].map((child) => {
      started.delete(child);
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
      const exited = new Promise((r) => child.once('exit', r));
      process.kill(child.pid!, 'SIGKILL');
      return exited;
    }),
  );
}
