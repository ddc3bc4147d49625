/**
 * A real process whose name and command line hold terminal escapes, carriage returns,
 * newlines and bidi overrides, as any local user can start one. Stopped by its pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { waitFor } from './processes.js';

/**
 * Names itself argv[1] (PR_SET_NAME, as any process may), listens on 127.0.0.1:0, prints
 * its pid and port; then each line on stdin opens one more listener (printing its port).
 * Stops on SIGTERM or end of stdin, and on its own after two minutes.
 */
export const HOSTILE_PY = `
import ctypes, os, signal, socket, sys, threading
signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
t = threading.Timer(120, lambda: os._exit(3)); t.daemon = True; t.start()
ctypes.CDLL(None).prctl(15, sys.argv[1].encode(), 0, 0, 0)
socks = []
def listen():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(); socks.append(s)
    return s.getsockname()[1]
print(os.getpid(), listen(), flush=True)
for _ in sys.stdin:
    print(listen(), flush=True)
os._exit(0)
`;

/** 15 bytes at most: the kernel's limit for a process name. */
export const HOSTILE_NAME = 'ev\u001b[2Jil\r';
export const HOSTILE_ARG = 'x\u001b[31mred\rover\nnext \u202eabc \u2066i\u2069 \u009b1m \\n';
/** How they are shown to people. */
export const HOSTILE_NAME_SHOWN = 'ev\\x1b[2Jil\\r';
export const HOSTILE_ARG_SHOWN = 'x\\x1b[31mred\\rover\\nnext \\u202eabc \\u2066i\\u2069 \\x9b1m \\n';
/** What a terminal or a browser would act on: anything here in human output is an injection. */
export const RAW_CONTROL = /[\p{Cc}\p{Bidi_Control}]/u;

export interface Hostile {
  pid: number;
  port: number;
  /** Opens one more listener; resolves with its port. */
  open(): Promise<number>;
  stop(): Promise<void>;
}

const started = new Set<ChildProcess>();

export async function startHostile(): Promise<Hostile> {
  const child = spawn('python3', ['-c', HOSTILE_PY, HOSTILE_NAME, HOSTILE_ARG], { stdio: ['pipe', 'pipe', 'inherit'] });
  started.add(child);
  const lines: string[] = [];
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (l) => lines.push(l));
  const first = await waitFor(() => lines.shift(), 'the process to listen');
  const [pid, port] = first.split(' ').map(Number) as [number, number];
  return {
    pid,
    port,
    async open() {
      child.stdin?.write('\n');
      return Number(await waitFor(() => lines.shift(), 'the next listener'));
    },
    stop: () => stopChild(child),
  };
}

function stopChild(child: ChildProcess): Promise<void> {
  started.delete(child);
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const gone = new Promise<void>((resolve) => child.once('close', () => resolve()));
  process.kill(child.pid as number, 'SIGKILL');
  return gone;
}

export async function stopHostiles(): Promise<void> {
  await Promise.all([...started].map(stopChild));
}
