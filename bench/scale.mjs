#!/usr/bin/env node
/**
 * How `portwatch watch` scales with what the host holds (`node bench/scale.mjs`; needs
 * `npm run build`; root for the tracefs rows; part of `npm run bench`, never of `npm test`):
 *
 *   node bench/scale.mjs [--listeners 5000] [--connections 60000] [--idle-s 10] [--settle-s 30]
 *     [--probes 20] [--spaced-probes 10] [--triggers poll,tracefs]
 *
 * Two hosts, each measured with `portwatch watch --json` as a user starts it:
 * - "many listeners": --listeners TCP listeners held by one process. Reported: how it looks
 *   while nothing changes (a poller thread: how often it read the kernel's socket counts and
 *   how many whole looks it took in --idle-s, with the budget's interval; else the median
 *   `nextMs` of the debug log's timer scans), a quiet tick's (or look's) cost, idle CPU of the
 *   whole process (all threads, schedstat) and RSS, and listen() → open for --probes
 *   listeners opened one at a time (each closed, then 50 ms–2 s before the next: steady
 *   change), and for polling also --spaced-probes listeners opened 4–6 s apart (a change
 *   after a quiet spell). A table too dear to look at every 100 ms is looked at when the
 *   counts move; a look that finds a change is paid by it, one that finds nothing by the budget.
 * - "many connections, one listener nobody owns": --connections established loopback
 *   connections and one listener whose only reference is in flight in a unix socket's queue
 *   (bench/busy-host/load.py), so no /proc walk can ever attribute it. Reported: idle CPU, RSS
 *   and listen() → open as above.
 * Idle CPU is measured in a run without debug logging (a log line per tick costs CPU of its
 * own); the interval in a second run with it. Both after --settle-s: in its first ~20 s a
 * watcher of 5,000 listeners is not idle yet: V8's memory reducer runs a few collections once
 * the first scan's garbage is left (~80 ms of CPU in all, 3–5 MB less RSS after; by hand, the
 * 8–18 s window costs 1.0–1.2 % of a core with it and 0.2–0.3 % with --no-memory-reducer). Targets (the engine issue): 5,000 listeners →
 * poll interval ≤ 200 ms within budget; 60k connections + an unattributable listener → idle ≤ 0.5 %.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { benchArgs } from './args.mjs';
import { idleCost, msBetween, nowNs, quantile, sleep, until } from './busy-host/measure.mjs';
import { CLI, Driver, PYTHON, start, startBusyHost, stop, stopAll, track } from './busy-host/processes.mjs';

const { values } = benchArgs(
  {
    options: {
      listeners: { type: 'string', default: '5000' },
      connections: { type: 'string', default: '60000' },
      'idle-s': { type: 'string', default: '10' },
      'settle-s': { type: 'string', default: '30' },
      probes: { type: 'string', default: '20' },
      'spaced-probes': { type: 'string', default: '10' },
      triggers: { type: 'string', default: process.getuid?.() === 0 ? 'poll,tracefs' : 'poll' },
    },
  },
  import.meta.url,
);
const idleS = Number(values['idle-s']);
const settleMs = Number(values['settle-s']) * 1000;
const probes = Number(values.probes);
const spacedProbes = Number(values['spaced-probes']);
const log = (m) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${m}`);
process.on('SIGINT', () => void stopAll().then(() => process.exit(130)));

/** Starts a python holder and waits for its "ready" line. */
async function holder(script, args) {
  const child = track(
    spawn(PYTHON, [new URL(script, import.meta.url).pathname, ...args.map(String)], { stdio: ['pipe', 'pipe', 'inherit'] }),
  );
  await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', (l) => (String(l).startsWith('ready') ? resolve() : reject(new Error(l))));
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
  return child;
}

/** `portwatch watch --json`, its open events by port, and (with debug) its scan lines. */
function watcher(trigger, debug) {
  const child = start([process.execPath, CLI, 'watch', '--json', '--trigger', trigger, ...(debug ? ['--log-level', 'debug'] : [])]);
  const opens = new Map(); // port → every time an open was seen
  const scans = [];
  let ready = false;
  createInterface({ input: child.stdout }).on('line', (l) => {
    const e = JSON.parse(l);
    if (e.type === 'open') opens.set(e.listener.port, [...(opens.get(e.listener.port) ?? []), nowNs()]);
    ready = true;
  });
  createInterface({ input: child.stderr }).on('line', (l) => {
    if (l.includes('watching')) ready = true;
    if (!l.startsWith('{')) return;
    const e = JSON.parse(l);
    if (e.msg === 'scan') scans.push({ ...e, at: nowNs() });
  });
  return { child, opens, scans, ready: () => ready };
}

async function latencies(w, driver, count = probes, gapMs = () => 50 + Math.random() * 2000) {
  const out = [];
  for (let i = 0; i < count; i++) {
    const { id, port, tOpen } = await driver.open();
    const seen = () => w.opens.get(port)?.find((t) => t >= tOpen);
    await until(seen, 5000, 2);
    out.push(seen() === undefined ? Infinity : msBetween(tOpen, seen()));
    await driver.close(id);
    // Never phase-lock with the looks: a gap shorter than the interval would start each probe
    // just after a look (the close was seen at one) and wait nearly a whole interval.
    await sleep(gapMs());
  }
  return out;
}

async function measure(host, trigger) {
  // Run 1, no debug log: idle CPU and RSS, then latency.
  let w = watcher(trigger, false);
  await until(w.ready, 60_000);
  const idle = await idleCost(w.child.pid, idleS, settleMs);
  const driver = Driver.spawn(false);
  const lat = await latencies(w, driver);
  const spaced = trigger === 'poll' ? await latencies(w, driver, spacedProbes, () => 4000 + Math.random() * 2000) : [];
  driver.end();
  await stop(w.child);
  // Run 2, debug log: the interval it settles on and what a quiet tick costs. A poller thread
  // looks by itself and the watcher scans only on what it finds (and once a minute), so its
  // stats are read from the scans of one probe before the quiet window and one after it.
  w = watcher(trigger, true);
  await until(w.ready, 60_000);
  await sleep(settleMs);
  const marker = Driver.spawn(false);
  const pollerNow = () => w.scans.findLast((s) => s.poller?.running) ?? null;
  await latencies(w, marker, 1, () => 0);
  const before = pollerNow(); // the scan that reported the first probe's open
  const from = nowNs();
  await sleep(idleS * 1000);
  await latencies(w, marker, 1, () => 0);
  const after = pollerNow(); // the one that reported the second's
  marker.end();
  const quiet = w.scans.filter((s) => s.at >= from && s.reason === 'timer');
  await stop(w.child);
  // Between the two scans (a little more than --idle-s): the first probe's close and the
  // second's open cost a look each (approximately: a look may see both, or need two).
  const between = before !== null && after !== null && after !== before ? msBetween(before.at, after.at) : null;
  const quietLooks = between !== null ? Math.max(0, after.poller.looks - before.poller.looks - 2) : null;
  const counted = between !== null ? after.poller.counted - before.poller.counted : null;
  const row = {
    host,
    trigger,
    // Polling off the main thread: the poller's own interval and the CPU of its last look.
    intervalMs:
      after !== null
        ? after.poller.intervalMs
        : quantile(
            quiet.map((s) => s.nextMs),
            0.5,
          ),
    tickMs:
      after !== null
        ? after.poller.lastLookUs / 1000
        : quantile(
            quiet.map((s) => s.scanMs),
            0.5,
          ),
    ticks: quiet.length,
    // Polling from the addon's thread, in the quiet window: reads of the socket counts and whole looks.
    counted,
    quietLooks,
    betweenMs: between,
    cpuPct: idle.cpuPct,
    rssMb: idle.rssMb,
    p50: quantile(lat, 0.5),
    p95: quantile(lat, 0.95),
    spacedP50: quantile(spaced, 0.5),
    spacedP95: quantile(spaced, 0.95),
  };
  log(JSON.stringify(row));
  return row;
}

const rows = [];
const triggers = values.triggers.split(',');
try {
  log(`holding ${values.listeners} listeners`);
  let h = await holder('./scale/hold-listeners.py', [values.listeners]);
  for (const t of triggers) rows.push(await measure(`${values.listeners} listeners`, t));
  await stop(h, 'SIGTERM');

  log(`holding ${values.connections} connections and a listener nobody owns`);
  const holders = [];
  for (let left = Number(values.connections); left > 0; left -= 9000)
    holders.push(await holder('./hold-connections.py', [Math.min(left, 9000)]));
  const unowned = await startBusyHost(0, 0);
  for (const t of triggers) rows.push(await measure(`${values.connections} connections + 1 unowned listener`, t));
  await unowned.stop();
  for (h of holders) await stop(h, 'SIGTERM');
} finally {
  await stopAll();
}

const f = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : String(x));
console.log(
  `\n| host | trigger | while quiet (${idleS} s) | quiet tick or look | idle CPU | RSS | listen→open p50 / p95 | after a quiet spell p50 / p95 |`,
);
console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) {
  const every = (n) => `${f(r.betweenMs / n, 0)} ms`;
  const interval =
    r.quietLooks !== null
      ? `${r.counted > 0 ? `counts every ${every(r.counted)}, ` : ''}whole table every ${every(r.quietLooks)} (budget's interval ${f(r.intervalMs, 0)} ms)`
      : r.trigger === 'poll'
        ? `every ${f(r.intervalMs, 0)} ms`
        : `every ${f(r.intervalMs, 0)} ms (safety net)`;
  console.log(
    `| ${r.host} | ${r.trigger} | ${interval} | ${f(r.tickMs, 2)} ms | ${f(r.cpuPct, 2)} % | ${f(r.rssMb, 0)} MB | ${f(r.p50)} / ${f(r.p95)} ms | ${r.trigger === 'poll' ? `${f(r.spacedP50)} / ${f(r.spacedP95)} ms` : '—'} |`,
  );
}
