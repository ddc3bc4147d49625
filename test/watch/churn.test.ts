/**
 * tracefs under churn, on the real kernel: another process opens and closes 400 listeners a
 * second. Scans are paced (their number does not follow the number of kernel events), and
 * every listener is still reported open once and close once, with its owner. Needs root
 * (see helpers/tracefs.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import type { PortEvent } from '../../src/listener.js';
import { watch, type PortWatcher, type TickEvent } from '../../src/watch/watcher.js';
import { waitFor } from '../helpers/processes.js';
import { requireTracefs } from '../helpers/tracefs.js';

// COUNT listeners on 127.0.0.1, one every GAP_MS, each closed LIFE_MS after its listen();
// then one line per listener, "PORT INODE", and "done". Bounded: exits after 60 s whatever happens.
const CHURN_PY = `
import heapq, os, socket, sys, threading, time
threading.Timer(60, lambda: os._exit(3)).start()
count, gap, life = int(sys.argv[1]), float(sys.argv[2]) / 1e3, float(sys.argv[3]) / 1e3
sys.stdin.readline()
start, pending, done, opened = time.monotonic(), [], [], 0
while opened < count or pending:
    now = time.monotonic()
    while pending and pending[0][0] <= now:
        _, _, s, line = heapq.heappop(pending); s.close(); done.append(line)
    if opened < count and start + opened * gap <= now:
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", 0)); s.listen()
        heapq.heappush(pending, (now + life, opened, s, f"{s.getsockname()[1]} {os.fstat(s.fileno()).st_ino}")); opened += 1
        continue
    time.sleep(0.0005)
print("\\n".join(done + ["done"]), flush=True)
os._exit(0)
`;

const watchers: PortWatcher[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  await Promise.all(watchers.splice(0).map((w) => w.close()));
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

describe('tracefs under churn', () => {
  it('paces scans whatever the event rate, and reports every listener open once and close once', async (ctx) => {
    requireTracefs(ctx);
    const count = 1_200;
    // Each lives 200 ms. The pacing sees every listener that lives 50 ms (bench/churn.mjs --life-ms 50
    // measures it); the margin is for a loaded 2-core CI machine, where the event loop can stall that long.
    const churn = spawn('python3', ['-c', CHURN_PY, String(count), '2.5', '200'], { stdio: ['pipe', 'pipe', 'inherit'] });
    children.push(churn);
    const lines: string[] = [];
    createInterface({ input: churn.stdout as NodeJS.ReadableStream }).on('line', (l) => lines.push(l));
    const w = watch({ trigger: 'tracefs', filter: (l) => l.process?.pid === churn.pid });
    watchers.push(w);
    const events: PortEvent[] = [];
    const ticks: TickEvent[] = [];
    w.on('open', (e) => events.push(e));
    w.on('close', (e) => events.push(e));
    w.on('tick', (t) => ticks.push(t));
    await w.whenReady();
    churn.stdin?.write('go\n');
    await waitFor(() => lines.at(-1) === 'done', 'the churn to end', 30_000);
    const listeners = lines.slice(0, -1).map((l) => l.split(' ').map(Number) as [number, number]);
    expect(listeners).toHaveLength(count);
    const key = (port: number, inode: number): string => `${port}:${inode}`;
    const seen = new Map(listeners.map(([port, inode]) => [key(port, inode), { open: 0, close: 0 }]));
    const allClosed = (): boolean => {
      for (const v of seen.values()) v.open = v.close = 0;
      for (const e of events) {
        const s = seen.get(key(e.listener.port, e.listener.inode));
        if (s) s[e.type]++;
      }
      return [...seen.values()].every((v) => v.close >= 1);
    };
    await waitFor(allClosed, 'every close', 10_000).catch(() => {}); // what is missing is said below
    const wrong = [...seen].filter(([, v]) => v.open !== 1 || v.close !== 1);
    const hinted = ticks.filter((t) => t.reason === 'hint');
    expect(wrong, `${wrong.length} of ${count} not reported exactly once (${hinted.length} hinted scans)`).toEqual([]);
    expect(events.every((e) => e.listener.process?.pid === churn.pid)).toBe(true);
    // ~3 kernel events per listener (bind, listen, close); scans are paced to at most one per 10 ms.
    expect(hinted.length).toBeLessThan(count / 2);
    const spanMs = (count * 2.5 + 200) * 1.5;
    expect(hinted.length).toBeLessThanOrEqual(spanMs / 10 + 10);
  });

  it('after a quiet moment, a listen is scanned for at once, not after the gap', async (ctx) => {
    requireTracefs(ctx);
    const w = watch({ trigger: 'tracefs', minInterval: 60_000, maxInterval: 60_000 });
    watchers.push(w);
    const ticks: TickEvent[] = [];
    w.on('tick', (t) => ticks.push(t));
    await w.whenReady();
    await new Promise((r) => setTimeout(r, 200)); // quiet
    const { createServer } = await import('node:net');
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    try {
      const ours = (t: TickEvent): boolean => t.hints.some((h) => h.kind === 'listen' && h.port === port);
      await waitFor(() => ticks.some(ours), 'the scan for the listen');
      const at = ticks.findIndex(ours);
      // The scan before it (for the bind, if the listen came after it started) did not make it wait.
      const before = ticks[at - 1];
      if (before?.reason === 'hint') expect(before.nextMs === 0 || before.nextMs >= 1_000).toBe(true);
    } finally {
      server.close();
    }
  });
});
