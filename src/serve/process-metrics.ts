/**
 * The standard process_* metrics and a few nodejs_* ones, read when scraped and at no other
 * time. Not prom-client's collectDefaultMetrics: that samples event loop delay with a 10 ms
 * timer (100 wake-ups a second in a process whose point is to sleep, and the watcher's
 * interval policy charges that CPU to scanning) and watches every GC, and three of its
 * gauges end in `_total`, which Prometheus reserves for counters (`promtool check metrics`
 * rejects them). Names and meanings follow prom-client's, so dashboards keep working; the
 * event loop lag is the one it measures at scrape time too.
 */
import { readFile, readdir } from 'node:fs/promises';
import { Counter, Gauge, type Registry } from 'prom-client';

/** `VmSize:    123 kB` lines of /proc/self/status, in bytes. */
function statusBytes(status: string, field: string): number | null {
  const m = new RegExp(`^${field}:\\s*(\\d+) kB$`, 'm').exec(status);
  return m?.[1] === undefined ? null : Number(m[1]) * 1024;
}

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return null;
  }
}

function nextTick(): Promise<number> {
  const start = process.hrtime.bigint();
  return new Promise((resolve) => setImmediate(() => resolve(Number(process.hrtime.bigint() - start) / 1e9)));
}

export function registerProcessMetrics(registry: Registry): void {
  const registers = [registry];
  const cpu = (name: string, help: string, pick: (u: NodeJS.CpuUsage) => number): void => {
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(pick(process.cpuUsage()) / 1e6);
      },
    });
  };
  cpu('process_cpu_user_seconds_total', 'Total user CPU time spent in seconds.', (u) => u.user);
  cpu('process_cpu_system_seconds_total', 'Total system CPU time spent in seconds.', (u) => u.system);
  cpu('process_cpu_seconds_total', 'Total user and system CPU time spent in seconds.', (u) => u.user + u.system);

  const started = new Gauge({
    name: 'process_start_time_seconds',
    help: 'Start time of the process since unix epoch in seconds.',
    registers,
  });
  started.set(Math.round(Date.now() / 1000 - process.uptime()));
  new Gauge({
    name: 'process_resident_memory_bytes',
    help: 'Resident memory size in bytes.',
    registers,
    collect() {
      this.set(process.memoryUsage.rss());
    },
  });
  const memory = (name: string, help: string, field: string): Gauge =>
    new Gauge({
      name,
      help,
      registers,
      async collect() {
        const bytes = statusBytes((await readText('/proc/self/status')) ?? '', field);
        if (bytes !== null) this.set(bytes);
      },
    });
  memory('process_virtual_memory_bytes', 'Virtual memory size in bytes.', 'VmSize');
  memory('process_heap_bytes', 'Process heap size in bytes.', 'VmData');
  new Gauge({
    name: 'process_open_fds',
    help: 'Number of open file descriptors.',
    registers,
    async collect() {
      // Minus the descriptor readdir holds open while it lists the directory.
      const fds = await readdir('/proc/self/fd').catch(() => null);
      if (fds) this.set(fds.length - 1);
    },
  });
  new Gauge({
    name: 'process_max_fds',
    help: 'Maximum number of open file descriptors.',
    registers,
    async collect() {
      const m = /^Max open files\s+(\d+)/m.exec((await readText('/proc/self/limits')) ?? '');
      if (m?.[1] !== undefined) this.set(Number(m[1]));
    },
  });

  new Gauge({
    name: 'nodejs_eventloop_lag_seconds',
    help: 'Lag of event loop in seconds, measured when scraped.',
    registers,
    async collect() {
      this.set(await nextTick());
    },
  });
  const heap = (name: string, help: string, pick: (m: NodeJS.MemoryUsage) => number): void => {
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(pick(process.memoryUsage()));
      },
    });
  };
  heap('nodejs_heap_size_total_bytes', 'Process heap size from Node.js in bytes.', (m) => m.heapTotal);
  heap('nodejs_heap_size_used_bytes', 'Process heap size used from Node.js in bytes.', (m) => m.heapUsed);
  heap('nodejs_external_memory_bytes', 'Node.js external memory size in bytes.', (m) => m.external);
  new Gauge({
    name: 'nodejs_active_resources',
    help: 'Resources keeping the event loop alive, by type (sum them for the total).',
    labelNames: ['type'],
    registers,
    collect() {
      this.reset();
      const counts = new Map<string, number>();
      for (const type of process.getActiveResourcesInfo()) counts.set(type, (counts.get(type) ?? 0) + 1);
      for (const [type, n] of counts) this.set({ type }, n);
    },
  });
  const [major, minor, patch] = process.versions.node.split('.');
  new Gauge({
    name: 'nodejs_version_info',
    help: 'Node.js version info.',
    labelNames: ['version', 'major', 'minor', 'patch'],
    registers,
  }).set({ version: process.version, major: major ?? '', minor: minor ?? '', patch: patch ?? '' }, 1);
}
