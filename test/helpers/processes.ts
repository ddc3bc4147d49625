/**
 * Real processes for tests: every one is tracked and stopped by its pid.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const LISTEN_PY = fileURLToPath(new URL('./listen.py', import.meta.url));
const started = new Set<ChildProcess>();

export interface SocketSpec {
  proto: 'tcp' | 'udp';
  host: string;
  port?: number;
  v6only?: boolean;
  reuseport?: boolean;
  connect?: boolean;
  /** tcp only: answer connections (see listen.py): echo every byte, or a tiny HTTP 200. */
  serve?: 'echo' | 'http';
}

export interface Holder {
  pid: number;
  ports: number[];
  open(spec: SocketSpec): Promise<{ index: number; port: number }>;
  close(index: number): Promise<void>;
  stop(): Promise<void>;
}

/** Waits until `check` returns a truthy value, polling; fails with `what` at the deadline. */
export async function waitFor<T>(check: () => T | Promise<T>, what: string, timeoutMs = 10_000, everyMs = 20): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  started.delete(child);
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    process.kill(child.pid as number, 'SIGTERM');
  });
}

/** Stops every process a test started and did not stop itself. */
export async function stopAll(): Promise<void> {
  await Promise.all([...started].map(stopChild));
}

/** Can this machine make network namespaces? (root, unshare and ip present) */
export function netnsSupport(): { ok: true } | { ok: false; reason: string } {
  const r = spawnSync('unshare', ['--net', 'ip', 'link', 'set', 'lo', 'up'], { encoding: 'utf8' });
  if (r.error) return { ok: false, reason: `unshare/ip not runnable: ${r.error.message}` };
  if (r.status !== 0) return { ok: false, reason: `unshare --net failed (needs root or user namespaces): ${r.stderr.trim()}` };
  return { ok: true };
}

/** Starts a python3 process holding the given sockets, optionally in a new (or a named) network namespace. */
export async function holdSockets(specs: SocketSpec[], options: { netns?: boolean; netnsName?: string } = {}): Promise<Holder> {
  const args = [LISTEN_PY, JSON.stringify(specs)];
  const child = options.netnsName
    ? spawn('ip', ['netns', 'exec', options.netnsName, 'python3', ...args], { stdio: ['pipe', 'pipe', 'inherit'] })
    : options.netns
      ? spawn('unshare', ['--net', 'sh', '-c', 'ip link set lo up && exec python3 "$@"', 'sh', ...args], {
          stdio: ['pipe', 'pipe', 'inherit'],
        })
      : spawn('python3', args, { stdio: ['pipe', 'pipe', 'inherit'] });
  started.add(child);
  const lines: Interface = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const replies: string[] = [];
  let wake: (() => void) | null = null;
  lines.on('line', (l) => {
    replies.push(l);
    wake?.();
  });
  const next = async (): Promise<Record<string, unknown>> => {
    const deadline = Date.now() + 10_000;
    while (replies.length === 0) {
      if (child.exitCode !== null) throw new Error(`socket holder exited with code ${child.exitCode}`);
      if (Date.now() > deadline) throw new Error('socket holder did not answer within 10 s');
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 100);
      });
    }
    return JSON.parse(replies.shift() as string) as Record<string, unknown>;
  };
  const hello = (await next()) as { pid: number; ports: number[] };
  return {
    pid: hello.pid,
    ports: hello.ports,
    async open(spec) {
      child.stdin?.write(`open ${JSON.stringify(spec)}\n`);
      return (await next()) as { index: number; port: number };
    },
    async close(index) {
      child.stdin?.write(`close ${index}\n`);
      await next();
    },
    stop: () => stopChild(child),
  };
}
