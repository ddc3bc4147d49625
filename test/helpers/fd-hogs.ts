/**
 * Processes holding many open file descriptors, so that a first owner walk of /proc/PID/fd
 * costs what it costs on a busy host (~5 µs per fd). The shape is a host's: many
 * processes with a few thousand descriptors each, not one with a huge table.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { waitFor } from './processes.js';

// One python3 process dup()s /dev/null (cheap for the kernel, one readlink each for the walk),
// then forks copies that share nothing but those descriptors. The copies die with it
// (PR_SET_PDEATHSIG), which ends on stdin EOF or a signal, and after 5 minutes whatever happens.
const HOG_PY = `
import ctypes, os, signal, sys, threading, time
per, count = int(sys.argv[1]), int(sys.argv[2])
threading.Timer(300, lambda: os._exit(3)).start()
fd = os.open('/dev/null', os.O_RDONLY)
for _ in range(per - 4):
    os.dup(fd)
kids = []
for _ in range(count - 1):
    pid = os.fork()
    if pid == 0:
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() == 1:
            os._exit(0)
        time.sleep(300)
        os._exit(0)
    kids.append(pid)
print(' '.join(str(p) for p in [os.getpid()] + kids), flush=True)
sys.stdin.read()
for pid in kids:
    os.kill(pid, signal.SIGKILL)
os._exit(0)
`;

export interface FdHogs {
  /** The holding processes, the first one the parent of the others. */
  pids: number[];
  /** Descriptors held in all (about). */
  fds: number;
  stop(): Promise<void>;
}

const PER_PROCESS = 2_000;

/** Exited (a zombie holds no descriptors, and in a container nobody may reap it). */
function gone(pid: number): boolean {
  try {
    return /^\d+ \(.*\) Z /s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

/** Starts processes holding about `total` descriptors, PER_PROCESS each. */
export async function holdManyFds(total: number): Promise<FdHogs> {
  const count = Math.max(1, Math.round(total / PER_PROCESS));
  const child: ChildProcess = spawn('python3', ['-c', HOG_PY, String(PER_PROCESS), String(count)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let pids: number[] = [];
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid as number, 'SIGKILL');
    await exited;
    await waitFor(() => pids.every(gone), 'the fd holders to be gone', 5_000);
  };
  try {
    const line = await Promise.race([
      new Promise<string>((resolve) => createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', resolve)),
      exited.then(() => Promise.reject(new Error('the fd holder exited before it was ready'))),
    ]);
    pids = line.split(' ').map(Number);
    return { pids, fds: count * PER_PROCESS, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
