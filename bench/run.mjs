#!/usr/bin/env node
/**
 * portwatch benchmark: `npm run bench` (never part of `npm test`).
 *
 *   node bench/run.mjs [--connections 20000] [--idle-seconds 30] [--detections 40]
 *
 * Prints, measured in one run: the per-scan cost of each source and of the seed's method
 * (spawn `ss -lntu` and parse it) with no load and with N established loopback
 * connections; the time from listen() to the `open` event with default settings; and the
 * CPU and memory of an idle `portwatch watch`.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { benchArgs } from './args.mjs';
import { createInterface } from 'node:readline';
import { createProcNetSource } from '../dist/sources/proc-net.js';
import { createSockDiagSource } from '../dist/sources/sock-diag.js';
import { createSsSource, findExecutable } from '../dist/sources/ss.js';
import { parseSs } from '../dist/parse/ss.js';

const { values } = benchArgs(
  {
    options: {
      connections: { type: 'string', default: '20000' },
      'idle-seconds': { type: 'string', default: '30' },
      detections: { type: 'string', default: '40' },
    },
  },
  import.meta.url,
);
const N = Number(values.connections);
const IDLE_S = Number(values['idle-seconds']);
const DETECTIONS = Number(values.detections);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};
const fmtUs = (ms) => (ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : `${ms.toFixed(2)} ms`);

/** Median and p95 of `fn` in ms, after a warm-up. Budgeted by count and by time. */
async function timeIt(fn, { count, maxMs = 15_000 }) {
  for (let i = 0; i < Math.min(5, count); i++) await fn();
  const xs = [];
  const deadline = Date.now() + maxMs;
  for (let i = 0; i < count && Date.now() < deadline; i++) {
    const t = process.hrtime.bigint();
    await fn();
    xs.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return { median: quantile(xs, 0.5), p95: quantile(xs, 0.95), n: xs.length };
}

const ss = findExecutable('ss');
const methods = [
  ['sockdiag', createSockDiagSource(), 2000],
  ['procfs', createProcNetSource(), 1000],
  ['ss', createSsSource(), 200],
]
  .filter(([, source]) => source !== null)
  .map(([name, source, count]) => ({ name, count, run: () => source.scan({}) }));
if (ss) {
  methods.push({
    name: "seed: spawn 'ss -lntu' + parse",
    count: 200,
    run: () =>
      new Promise((resolve, reject) => {
        const child = spawn(ss, ['-lntu']);
        let out = '';
        child.stdout.on('data', (d) => (out += d));
        child.on('error', reject);
        child.on('close', () => resolve(parseSs(out, 'tcp')));
      }),
  });
}

async function costTable(label) {
  const rows = [];
  for (const m of methods) rows.push({ method: m.name, ...(await timeIt(m.run, { count: m.count })) });
  console.log(`\nPer-scan cost, ${label} (raw source scan, no attribution):`);
  console.log('| method | median | p95 | runs |\n|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.method} | ${fmtUs(r.median)} | ${fmtUs(r.p95)} | ${r.n} |`);
  return rows;
}

/** Runs `fn` while N established loopback connections exist, held by as many processes as the fd limit needs. */
async function withConnections(n, fn) {
  const perProcess = 9000; // 2 fds each: fits the common hard limit of 20,000 open files
  const children = [];
  try {
    for (let left = n; left > 0; left -= perProcess) {
      const child = spawn('python3', [new URL('./hold-connections.py', import.meta.url).pathname, String(Math.min(left, perProcess))], {
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      children.push(child);
      const line = await new Promise((resolve, reject) => {
        createInterface({ input: child.stdout }).once('line', resolve);
        child.once('exit', (code) => reject(new Error(`connection holder exited with ${code}`)));
      });
      if (!String(line).startsWith('ready')) throw new Error(`unexpected: ${line}`);
    }
    return await fn();
  } finally {
    for (const child of children) {
      child.kill('SIGTERM');
      if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
    }
  }
}

/**
 * listen() → open event, as a user of `portwatch watch --json` sees it: the watcher runs in
 * its own process with default settings, so the benchmark's own work and garbage do not
 * count against the watcher's CPU budget.
 */
async function detection(trigger) {
  const cli = new URL('../dist/cli/main.js', import.meta.url).pathname;
  const child = spawn(process.execPath, [cli, 'watch', '--json', '--trigger', trigger, '--pid', String(process.pid)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise((resolve) => child.stderr.on('data', (d) => String(d).includes('watching') && resolve()));
  const opened = new Map(); // port → resolve
  createInterface({ input: child.stdout }).on('line', (line) => {
    const e = JSON.parse(line);
    if (e.type === 'open') opened.get(e.listener.port)?.();
  });
  const latencies = [];
  const closeLatencies = [];
  const closed = new Map();
  createInterface({ input: child.stdout }).on('line', (line) => {
    const e = JSON.parse(line);
    if (e.type === 'close') closed.get(e.listener.port)?.();
  });
  for (let i = 0; i < DETECTIONS; i++) {
    await sleep(Math.random() * 300); // do not phase-lock with the scan timer
    const server = createServer();
    const t = process.hrtime.bigint();
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    const port = server.address().port;
    await Promise.race([
      new Promise((resolve) => opened.set(port, resolve)),
      sleep(10_000).then(() => Promise.reject(new Error('no open event in 10 s'))),
    ]);
    latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
    opened.delete(port);
    await sleep(Math.random() * 300);
    const gone = new Promise((resolve) => closed.set(port, resolve));
    const tc = process.hrtime.bigint();
    await new Promise((r) => server.close(r));
    await Promise.race([gone, sleep(10_000).then(() => Promise.reject(new Error('no close event in 10 s')))]);
    closeLatencies.push(Number(process.hrtime.bigint() - tc) / 1e6);
    closed.delete(port);
  }
  child.kill('SIGINT');
  await new Promise((r) => child.once('exit', r));
  console.log(`\nDetection with --trigger ${trigger}, from 'portwatch watch --json' (${latencies.length} runs):`);
  console.log(
    `listen() → open p50 ${quantile(latencies, 0.5).toFixed(1)} ms, p95 ${quantile(latencies, 0.95).toFixed(1)} ms; ` +
      `close() → close p50 ${quantile(closeLatencies, 0.5).toFixed(1)} ms, p95 ${quantile(closeLatencies, 0.95).toFixed(1)} ms`,
  );
}

/** CPU time of every thread of `pid` in ms, from schedstat (nanoseconds, not 10 ms ticks). */
function cpuMsOf(pid) {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return ns / 1e6;
}

/** CPU (all threads) and RSS of a spawned process over IDLE_S seconds, once `ready` resolved. */
async function idleCost(child, ready) {
  await ready;
  await sleep(1000);
  const t0 = cpuMsOf(child.pid);
  await sleep(IDLE_S * 1000);
  const spentMs = cpuMsOf(child.pid) - t0;
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))[1]);
  child.kill('SIGINT');
  await new Promise((r) => child.once('exit', r));
  return `CPU ${(spentMs / (IDLE_S * 10)).toFixed(2)} % of one core, RSS ${(rssKb / 1024).toFixed(1)} MB`;
}

async function idle(trigger) {
  const cli = new URL('../dist/cli/main.js', import.meta.url).pathname;
  const child = spawn(process.execPath, [cli, 'watch', '--json', '--trigger', trigger], { stdio: ['ignore', 'ignore', 'pipe'] });
  const ready = new Promise((resolve) => child.stderr.on('data', (d) => String(d).includes('watching') && resolve()));
  // Beside polling, in the same window: what any Node process pays to wake every 100 ms
  // (the floor for polling from Node's own timer, which the poller thread avoids).
  const bare = trigger === 'poll' ? spawn(process.execPath, ['-e', 'setInterval(() => {}, 100)'], { stdio: 'ignore' }) : null;
  const [watched, reference] = await Promise.all([idleCost(child, ready), bare ? idleCost(bare, Promise.resolve()) : null]);
  console.log(`\nIdle 'portwatch watch --trigger ${trigger}' over ${IDLE_S} s: ${watched}`);
  if (reference !== null) console.log(`Idle 'node -e "setInterval(() => {}, 100)"', same ${IDLE_S} s: ${reference}`);
}

console.log(`portwatch benchmark — node ${process.version}, ${new Date().toISOString()}`);
// Idle first: before the load phases, whose 20,000 closing connections leave the kernel
// busy for a while and would be charged to whichever process runs.
// Both triggers side by side in one run (the machine is shared and noisy): tracefs needs
// root; without it only poll is measured.
const triggers = process.getuid?.() === 0 ? ['tracefs', 'poll'] : ['poll'];
for (const t of triggers) await idle(t);
for (const t of triggers) await detection(t);
const idleRows = await costTable('no load');
const loadRows = await withConnections(N, () => costTable(`${N} established loopback connections`));
const seedIdle = idleRows.find((r) => r.method.startsWith('seed'));
const seedLoad = loadRows.find((r) => r.method.startsWith('seed'));
const sdIdle = idleRows.find((r) => r.method === 'sockdiag');
const sdLoad = loadRows.find((r) => r.method === 'sockdiag');
if (seedIdle && sdIdle && seedLoad && sdLoad) {
  console.log(
    `\nsockdiag vs the seed's method (median): ${(seedIdle.median / sdIdle.median).toFixed(0)}× cheaper idle, ${(seedLoad.median / sdLoad.median).toFixed(0)}× at N = ${N}`,
  );
}
