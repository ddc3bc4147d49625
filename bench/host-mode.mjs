#!/usr/bin/env node
/**
 * Host mode (-A) at 1, 50 and 500 network namespaces, each made with unshare(CLONE_NEWNET)
 * and holding 2 listeners (TCP 0.0.0.0:8000, UDP 0.0.0.0:8001) with 2 processes
 * (bench/host-namespaces.py: one python parent forks them; 1,000 processes at 500).
 *
 * For each size it reports:
 *   initial list   scanHost() in this process (what `list -A` does: find and hold every
 *                  namespace, read it, owners, containers), best and worst of 3 (ms), with
 *                  the parts of the best (find+hold, owners); and `list -A --json` run as a
 *                  user would, wall time with Node's start-up (ms)
 *   and per trigger (tracefs, poll), in a fresh Node process each:
 *   p50/p95        listen() in a random namespace (an existing process opens 0.0.0.0:9000) → `open` (ms);
 *                  events 150–400 ms apart (isolated listens, not a burst)
 *   idle CPU       process CPU time (user+system) over 10 s with nothing changing in the bench's
 *                  namespaces, % of one core; what other processes on the machine did meanwhile
 *                  (listeners opened/closed elsewhere, owner walks, kernel events) is shown beside it
 *   RSS            after the idle window (MB)
 * Targets (issue 11, at 500): list ≤ 1 s; p50 ≤ 10 ms tracefs, ≤ 1 s poll; idle ≤ 1 % tracefs,
 * ≤ 2 % poll; RSS ≤ 150 MB.
 *
 * Bounded: each worker has a deadline (listens stop after LISTEN_BUDGET_MS, the worker is
 * killed at WORKER_DEADLINE_MS), and everything it starts is stopped by pid, on failure and on
 * SIGINT/SIGTERM too: the python parent (its children die with it: PR_SET_PDEATHSIG, and with
 * them every namespace), and the workers. After each size it checks that no child is left.
 * Needs root (unshare, setns, tracefs).
 * Usage: npm run build && node bench/host-mode.mjs [sizes, default 1,50,500] [iterations, default 30]
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync, rmdirSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const DIST = new URL('../dist/', import.meta.url);
const LISTEN_BUDGET_MS = 60_000;
const EVENT_TIMEOUT_MS = 10_000;
const IDLE_MS = 10_000;
const WORKER_DEADLINE_MS = 150_000;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))];
const netnsOfPid = (pid) => /net:\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/ns/net`))[1];
const loadavg = () => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function worker(trigger, childrenJson, iterations) {
  const { watchHost } = await import(new URL('engine/host-watcher.js', DIST));
  const { tracefsStats } = await import(new URL('triggers/tracefs.js', DIST));
  // A holder that died (something else on the machine signalled it) is left out, and counted.
  const all = JSON.parse(childrenJson);
  const children = all.filter(alive);
  const w = watchHost({ trigger, containers: false });
  w.on('error', () => {});
  const t0 = performance.now();
  await w.whenReady();
  const readyMs = performance.now() - t0;
  // Each child's namespace as the kernel says it (not from the watcher's own answers).
  const netnsOf = new Map(children.map((pid) => [pid, netnsOfPid(pid)]));
  const ours = new Set(netnsOf.values());
  await sleep(2_000); // settle: the first refreshes, the sweep's cost estimates
  const latencies = [];
  let missed = 0;
  const listensUntil = performance.now() + LISTEN_BUDGET_MS;
  for (let i = 0; i < iterations && performance.now() < listensUntil; i++) {
    const pid = children[Math.floor(Math.random() * children.length)];
    const netns = netnsOf.get(pid);
    const waitFor = (type) =>
      new Promise((resolve) => {
        const timer = setTimeout(() => done(null), EVENT_TIMEOUT_MS);
        const f = (e) => e.listener.port === 9000 && e.listener.netns === netns && done(performance.now());
        const done = (t) => {
          clearTimeout(timer);
          w.off(type, f);
          resolve(t);
        };
        w.on(type, f);
      });
    const opened = waitFor('open');
    const start = performance.now();
    process.kill(pid, 'SIGUSR1');
    const at = await opened;
    if (at === null) missed++;
    else latencies.push(at - start);
    const closed = waitFor('close');
    process.kill(pid, 'SIGUSR2');
    await closed;
    await sleep(150 + Math.random() * 250);
  }
  await sleep(1_000);
  // Idle: nothing changes in the bench's namespaces. The machine may be shared: what the rest
  // of it did meanwhile (listeners elsewhere, kernel events) is counted and shown.
  let elsewhere = 0;
  const count = (e) => (ours.has(e.listener.netns) ? null : elsewhere++);
  w.on('open', count);
  w.on('close', count);
  const hints0 = tracefsStats().hints;
  const walks0 = w.walks;
  const load0 = loadavg();
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  await sleep(IDLE_MS);
  const cpu = process.cpuUsage(cpu0);
  const idlePct = ((cpu.user + cpu.system) / 1000 / (performance.now() - wall0)) * 100;
  const rssMb = process.memoryUsage().rss / 1e6;
  latencies.sort((a, b) => a - b);
  const result = {
    trigger: w.trigger,
    source: w.source,
    readyMs,
    listens: latencies.length + missed,
    p50: pct(latencies, 0.5) ?? null,
    p95: pct(latencies, 0.95) ?? null,
    missed,
    idlePct,
    idleElsewhere: elsewhere,
    idleWalks: w.walks - walks0,
    idleHints: tracefsStats().hints - hints0,
    load: Math.max(load0, loadavg()),
    rssMb,
    namespaces: w.namespaces().length,
    lost: all.length - children.length,
  };
  await w.close();
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** Everything this run started and has not seen end: stopped by pid on any way out. */
const running = new Set();
function track(child) {
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}
function stopAll(signal = 'SIGTERM') {
  for (const c of running) if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) process.kill(c.pid, signal);
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'])
  process.once(sig, () => {
    stopAll('SIGKILL');
    process.exit(130);
  });
process.on('exit', () => stopAll('SIGKILL'));

function exited(child) {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', r));
}

/** Runs a command; resolves with {code, stdout, stderr, ms}; killed at `deadlineMs`. */
function run(cmd, args, deadlineMs) {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = track(spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), deadlineMs);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started, pid: child.pid });
    });
  });
}

async function runWorker(trigger, children, iterations) {
  const r = await run(
    process.execPath,
    [fileURLToPath(import.meta.url), '--worker', trigger, JSON.stringify(children), String(iterations)],
    WORKER_DEADLINE_MS,
  );
  // A worker killed at its deadline leaves its tracefs instance (portwatch-<pid>): remove it.
  const instance = `/sys/kernel/tracing/instances/portwatch-${r.pid}`;
  if (existsSync(instance)) {
    try {
      rmdirSync(instance);
    } catch {
      // the next portwatch to start sweeps it
    }
  }
  if (r.code !== 0)
    throw new Error(`worker (${trigger}) ${r.signal ? `killed (${r.signal}) at its deadline` : `exited ${r.code}`}: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

async function startNamespaces(n) {
  const child = track(spawn('python3', [`${HERE}host-namespaces.py`, String(n)], { stdio: ['pipe', 'pipe', 'inherit'] }));
  const first = await Promise.race([
    new Promise((resolve) => createInterface({ input: child.stdout }).once('line', resolve)),
    exited(child).then(() => null),
    sleep(120_000).then(() => null),
  ]);
  if (first === null) {
    child.kill('SIGKILL');
    throw new Error(`host-namespaces.py did not make ${n} namespaces`);
  }
  return { child, children: JSON.parse(first).children };
}

async function measureSize(n, iterations) {
  const made = performance.now();
  const { child, children } = await startNamespaces(n);
  try {
    const setupS = (performance.now() - made) / 1000;
    await sleep(3_000); // let the last forks and execs settle
    const { scanHost } = await import(new URL('engine/host-scan.js', DIST));
    const { HostScanner } = await import(new URL('engine/host-scanner.js', DIST));
    const lists = [];
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      const r = await scanHost();
      const ms = performance.now() - t;
      // The same look in parts: find and hold the namespaces, read them with owners.
      const p = performance.now();
      const scanner = new HostScanner({ containers: false });
      scanner.refresh();
      const refreshMs = performance.now() - p;
      const s = await scanner.scan('all');
      scanner.close();
      lists.push({ ms, refreshMs, attributionMs: s.attributionMs, listeners: r.listeners.length, namespaces: r.namespaces.length });
    }
    const cli = await run(process.execPath, [CLI, 'list', '-A', '--json'], 60_000);
    const cliListeners = cli.code === 0 ? JSON.parse(cli.stdout).length : `failed: ${cli.stderr.trim()}`;
    const triggers = [];
    for (const trigger of ['tracefs', 'poll']) triggers.push(await runWorker(trigger, children, iterations));
    return { n, setupS, lists, cliMs: cli.ms, cliListeners, triggers };
  } finally {
    child.kill('SIGTERM');
    await Promise.race([exited(child), sleep(10_000)]);
    // Every namespace goes with its last process: none of the children may outlive the parent.
    const deadline = performance.now() + 10_000;
    while (children.some(alive) && performance.now() < deadline) await sleep(50);
    const left = children.filter(alive);
    for (const pid of left) process.kill(pid, 'SIGKILL');
    if (left.length > 0) console.log(`  (${left.length} namespace holder(s) outlived the parent: killed)`);
  }
}

const f0 = (x) => (x === null || x === undefined ? '—' : x.toFixed(0));
const f1 = (x) => (x === null || x === undefined ? '—' : x.toFixed(1));

async function main() {
  const sizes = (process.argv[2] ?? '1,50,500').split(',').map(Number);
  const iterations = Number(process.argv[3] ?? 30);
  console.log(`host mode bench: namespaces ${sizes.join(', ')}; ${iterations} listens each; ${new Date().toISOString()}`);
  const rows = [];
  for (const n of sizes) {
    const r = await measureSize(n, iterations);
    const best = r.lists.reduce((a, b) => (b.ms < a.ms ? b : a));
    const worst = Math.max(...r.lists.map((l) => l.ms));
    console.log(
      `\n${n} namespace(s) (made in ${r.setupS.toFixed(1)} s): initial list best ${f0(best.ms)} ms, worst ${f0(worst)} ms ` +
        `(find+hold ${f0(best.refreshMs)}, owners ${f0(best.attributionMs)}), ${best.listeners} listeners in ${best.namespaces} namespaces; ` +
        `cli list -A --json ${f0(r.cliMs)} ms (${r.cliListeners} listeners)`,
    );
    for (const t of r.triggers) {
      console.log(
        `  ${t.trigger.padEnd(7)} (${t.source}) ready ${f0(t.readyMs)} ms; listen→open p50 ${f1(t.p50)} ms, p95 ${f1(t.p95)} ms, missed ${t.missed}/${t.listens}; ` +
          `idle CPU ${t.idlePct.toFixed(2)} % of a core (meanwhile elsewhere: ${t.idleElsewhere} listener events, ${t.idleWalks} owner walks, ` +
          `${t.idleHints} kernel events; load ${t.load}); RSS ${f0(t.rssMb)} MB`,
      );
    }
    rows.push(r);
  }
  console.log(
    '\n| namespaces | processes | initial list (in process) | `list -A` (CLI) | tracefs p50 / p95 | poll p50 / p95 | idle CPU tracefs / poll | RSS tracefs / poll |',
  );
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    const [tf, po] = r.triggers;
    const best = Math.min(...r.lists.map((l) => l.ms));
    console.log(
      `| ${r.n} | ${2 * r.n} | ${f0(best)} ms | ${f0(r.cliMs)} ms | ${f1(tf.p50)} / ${f1(tf.p95)} ms | ${f0(po.p50)} / ${f0(po.p95)} ms | ` +
        `${tf.idlePct.toFixed(2)} % / ${po.idlePct.toFixed(2)} % | ${f0(tf.rssMb)} / ${f0(po.rssMb)} MB |`,
    );
  }
}

if (process.argv[2] === '--worker') await worker(process.argv[3], process.argv[4], Number(process.argv[5]));
else await main();
