#!/usr/bin/env node
/**
 * `portwatch watch --json` under listener churn (`node bench/churn.mjs`; never part of
 * `npm test`; needs `npm run build` first, and root for `--trigger tracefs`):
 *
 *   node bench/churn.mjs [--trigger tracefs] [--rate 500] [--seconds 30] [--life-ms 1000]
 *     [--n 40] [--gap-ms 300] [--idle-s 5] [--fds 0] [--processes 0] [--cli dist/cli/main.js]
 *     [--debug [--debug-log FILE]] [--json] [--node-arg --cpu-prof ...]
 *
 * The watcher and the churn generator are separate processes: bench/busy-host/driver.py
 * opens --rate listeners a second on 127.0.0.1 for --seconds, each closed --life-ms after
 * its listen(). Measured on the watcher's pid:
 * - CPU over the churn (utime+stime from /proc/PID/stat and schedstat of every thread, both
 *   as a share of one core over the wall time of the churn), so other jobs on the machine
 *   do not count;
 * - RSS before, every 5 s during, and 2 s after the churn;
 * - exactly-once: each churned listener (port, inode) reported open once and close once;
 * - isolated listen() → open and close() → close latency, p50/p95 over --n listeners spaced
 *   --gap-ms apart (quiet in between), before the churn and after it;
 * - idle CPU for --idle-s after the churn.
 * With --debug, the watcher runs with --log-level debug and its ticks are counted (scans/s).
 * --fds/--processes start bench/busy-host/load.py first (descriptors held, idle processes).
 */
import { createWriteStream, readFileSync } from 'node:fs';
import { clearInterval, setInterval } from 'node:timers';
import { createInterface } from 'node:readline';
import { benchArgs } from './args.mjs';
import { Sink } from './busy-host/consumers.mjs';
import { cpuMsOf, idleCost, jitter, msBetween, nowNs, quantile, rssMbOf, sleep, until } from './busy-host/measure.mjs';
import { CLI, Driver, start, startBusyHost, stop, stopAll } from './busy-host/processes.mjs';

const { values } = benchArgs(
  {
    options: {
      trigger: { type: 'string', default: 'tracefs' },
      rate: { type: 'string', default: '500' },
      seconds: { type: 'string', default: '30' },
      'life-ms': { type: 'string', default: '1000' },
      n: { type: 'string', default: '40' },
      'gap-ms': { type: 'string', default: '300' },
      'idle-s': { type: 'string', default: '5' },
      fds: { type: 'string', default: '0' },
      processes: { type: 'string', default: '0' },
      cli: { type: 'string', default: CLI },
      debug: { type: 'boolean', default: false },
      'debug-log': { type: 'string' },
      'node-arg': { type: 'string', multiple: true, default: [] },
      json: { type: 'boolean', default: false },
    },
  },
  import.meta.url,
);
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const LIFE_MS = Number(values['life-ms']);
const N = Number(values.n);
const GAP_MS = Number(values['gap-ms']);
const log = (m) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${m}`);
const round = (x, d = 1) => (Number.isFinite(x) ? Number(x.toFixed(d)) : null);

/** utime + stime of the whole process in ms, from /proc/PID/stat (clock ticks of 10 ms). */
function statCpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10; // fields 14 and 15 of stat(5)
  } catch {
    return NaN;
  }
}

function startWatcher() {
  const sink = new Sink();
  const ticks = { count: 0, hint: 0, timer: 0, walks: 0 };
  const args = [values.cli, 'watch', '--json', '--trigger', values.trigger];
  if (values.debug) args.push('--log-level', 'debug');
  const child = start([process.execPath, ...values['node-arg'], ...args]);
  createInterface({ input: child.stdout }).on('line', (l) => {
    let e;
    try {
      e = JSON.parse(l);
    } catch {
      return; // not an event (e.g. --trace-gc output through --node-arg)
    }
    if (e.type === 'open' || e.type === 'close') sink.push(e.type, e.listener.port, e.listener.inode);
  });
  const debugLog = values['debug-log'] ? createWriteStream(values['debug-log']) : null;
  const stderr = [];
  createInterface({ input: child.stderr }).on('line', (l) => {
    debugLog?.write(`${l}\n`);
    if (!l.includes('"msg":"scan"')) {
      stderr.push(l);
      if (stderr.length > 20) stderr.shift();
      return;
    }
    if (!values.debug) return;
    ticks.count++;
    if (l.includes('"reason":"hint"')) ticks.hint++;
    if (l.includes('"reason":"timer"')) ticks.timer++;
    const walks = /"walks":(\d+)/.exec(l);
    if (walks) ticks.walks += Number(walks[1]);
  });
  return { child, sink, ticks, stderr };
}

/** Until a fresh listener is reported (the first scan and its owner walk are done). */
async function ready(driver, sink, stderr) {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const probe = await driver.open();
    const seen = await sink.seen('open', probe.port, probe.tOpen, 1000);
    await driver.close(probe.id);
    if (seen !== null && (await sink.seen('close', probe.port, seen, 30_000)) !== null) return;
  }
  throw new Error(`the watcher reported nothing in 120 s; its stderr:\n${stderr.join('\n')}`);
}

/** Isolated listeners, each after a quiet gap: listen → open and close → close, in ms. */
async function latencies(driver, sink) {
  const opens = [];
  const closes = [];
  let missed = 0;
  for (let i = 0; i < N; i++) {
    await sleep(GAP_MS);
    await jitter(100);
    const l = await driver.open();
    const opened = await sink.seen('open', l.port, l.tOpen, 5000);
    if (opened === null) missed++;
    else opens.push(msBetween(l.tOpen, opened));
    await sleep(GAP_MS);
    await jitter(100);
    const tClose = await driver.close(l.id);
    const closed = await sink.seen('close', l.port, tClose, 5000);
    if (closed === null) missed++;
    else closes.push(msBetween(tClose, closed));
  }
  const q = (xs, p) => round(quantile(xs, p), 2);
  return { open: { p50: q(opens, 0.5), p95: q(opens, 0.95) }, close: { p50: q(closes, 0.5), p95: q(closes, 0.95) }, missed };
}

async function churn(pid, driver, sink, ticks) {
  const rss = [rssMbOf(pid)];
  const cpu0 = { stat: statCpuMs(pid), sched: cpuMsOf(pid) };
  const ticks0 = { ...ticks };
  const t0 = nowNs();
  const sampler = setInterval(() => rss.push(rssMbOf(pid)), 5000);
  const batch = await driver.batch(RATE * SECONDS, 1000 / RATE, LIFE_MS);
  const churnWallMs = msBetween(t0, nowNs());
  const cpu1 = { stat: statCpuMs(pid), sched: cpuMsOf(pid) };
  const ticks1 = { ...ticks };
  clearInterval(sampler);
  const counts = new Map(batch.map((l) => [`${l.port}:${l.inode}`, { open: 0, close: 0 }]));
  const count = () => {
    for (const v of counts.values()) v.open = v.close = 0;
    for (const e of sink.events) {
      const k = counts.get(`${e.port}:${e.inode}`);
      if (k) k[e.type]++;
    }
    return [...counts.values()].every((v) => v.open === 1 && v.close === 1);
  };
  await until(count, 10_000, 250);
  await sleep(2000);
  count();
  rss.push(rssMbOf(pid));
  const v = [...counts.values()];
  return {
    listeners: v.length,
    exactlyOnce: v.filter((x) => x.open === 1 && x.close === 1).length,
    neverOpened: v.filter((x) => x.open === 0).length,
    neverClosed: v.filter((x) => x.open > 0 && x.close === 0).length,
    twice: v.filter((x) => x.open > 1 || x.close > 1).length,
    wallS: round(churnWallMs / 1000, 1),
    cpuPctStat: round(((cpu1.stat - cpu0.stat) / churnWallMs) * 100),
    cpuPctSchedstat: round(((cpu1.sched - cpu0.sched) / churnWallMs) * 100),
    scansPerS: values.debug ? round(((ticks1.count - ticks0.count) / churnWallMs) * 1000) : null,
    hintScansPerS: values.debug ? round(((ticks1.hint - ticks0.hint) / churnWallMs) * 1000) : null,
    walks: values.debug ? ticks1.walks - ticks0.walks : null,
    rssMb: rss.map((x) => round(x, 0)),
  };
}

process.on('SIGINT', () => stopAll().finally(() => process.exit(130)));

let host = null;
let result = null;
try {
  if (Number(values.fds) > 0 || Number(values.processes) > 0) {
    log(`busy host: ${values.fds} fds, ${values.processes} idle processes`);
    host = await startBusyHost(Number(values.fds), Number(values.processes));
  }
  const w = startWatcher();
  const driver = Driver.spawn(false);
  try {
    log(`watch --json --trigger ${values.trigger} (pid ${w.child.pid}): waiting until it reports`);
    await ready(driver, w.sink, w.stderr);
    log(`isolated latency, ${N} listeners`);
    const before = await latencies(driver, w.sink);
    log(`churn: ${RATE}/s for ${SECONDS} s, each living ${LIFE_MS} ms`);
    const c = await churn(w.child.pid, driver, w.sink, w.ticks);
    log(`isolated latency after the churn`);
    const after = await latencies(driver, w.sink);
    const idle = await idleCost(w.child.pid, Number(values['idle-s']));
    result = { trigger: values.trigger, rate: RATE, seconds: SECONDS, lifeMs: LIFE_MS, before, churn: c, after, idle };
  } finally {
    driver.end();
    await stop(w.child);
  }
} catch (e) {
  console.error(`churn: ${e.stack ?? e}`);
  process.exitCode = 1;
} finally {
  await host?.stop();
  await stopAll();
}
if (result !== null) {
  if (values.json) console.log(JSON.stringify(result));
  else {
    const { before: b, churn: c, after: a, idle } = result;
    console.log(
      [
        `trigger ${result.trigger}: ${c.listeners} listeners at ${RATE}/s, life ${LIFE_MS} ms`,
        `  exactly once ${c.exactlyOnce}/${c.listeners} (never opened ${c.neverOpened}, never closed ${c.neverClosed}, twice ${c.twice})`,
        `  CPU during churn: ${c.cpuPctStat} % (stat), ${c.cpuPctSchedstat} % (schedstat) of one core over ${c.wallS} s` +
          (c.scansPerS === null ? '' : `; ${c.scansPerS} scans/s (${c.hintScansPerS} on hints), ${c.walks} walks`),
        `  RSS MB: ${c.rssMb.join(' → ')}`,
        `  isolated before: open p50 ${b.open.p50} / p95 ${b.open.p95} ms, close p50 ${b.close.p50} / p95 ${b.close.p95} ms, missed ${b.missed}`,
        `  isolated after:  open p50 ${a.open.p50} / p95 ${a.open.p95} ms, close p50 ${a.close.p50} / p95 ${a.close.p95} ms, missed ${a.missed}`,
        `  idle after: ${round(idle.cpuPct, 2)} % CPU, RSS ${round(idle.rssMb, 0)} MB`,
      ].join('\n'),
    );
  }
}
process.exit();
