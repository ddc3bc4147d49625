#!/usr/bin/env node
/**
 * portwatch on a busy host, as users meet it (`npm run bench`; never part of `npm test`;
 * needs `npm run build` first and root for the tracefs and unprivileged rows):
 *
 *   node bench/busy-host.mjs [--n 20] [--idle-s 5] [--churn-s 20] [--churn-rate 500]
 *     [--churn-life-ms 1000] [--churn-consumers watch,serve] [--wait-runs 5] [--wait-head-ms 500] [--fds 100000]
 *     [--processes 1000] [--consumers watch,serve,mcp,run,wait] [--modes tracefs,poll,poll-unpriv]
 *
 * The host: processes holding --fds open descriptors, --processes idle processes, and one
 * listener no process owns (bench/busy-host/load.py). Listeners are opened and closed by a
 * driver (bench/busy-host/driver.py) running as the consumer's user, stamped on the clock
 * Node's hrtime reads. For each consumer and trigger: listen() → event and close() → event
 * p50/p95 over --n listeners, the share of --n listeners living 50 ms and 250 ms that were
 * reported, idle CPU of the whole process (all threads, schedstat) and RSS. `wait`: start
 * it, listen --wait-head-ms later, time to exit; --wait-runs listeners living 50, 250 and
 * 300 ms. Churn (`watch --json`, and serve's SSE with --churn-consumers watch,serve): --churn-rate
 * listeners/s, each living --churn-life-ms, for --churn-s: exactly-once, CPU, RSS. --consumers ''
 * runs the churn alone. Prints Markdown tables with the targets of issue 8.
 */
import { clearInterval, clearTimeout, setInterval, setTimeout } from 'node:timers';
import { benchArgs } from './args.mjs';
import { CONSUMERS, startWait } from './busy-host/consumers.mjs';
import { printTables } from './busy-host/report.mjs';
import { cpuMsOf, idleCost, jitter, msBetween, nowNs, rssMbOf, sleep, until } from './busy-host/measure.mjs';
import { Driver, startBusyHost, stopAll } from './busy-host/processes.mjs';

const { values } = benchArgs(
  {
    options: {
      n: { type: 'string', default: '20' },
      'idle-s': { type: 'string', default: '5' },
      'churn-s': { type: 'string', default: '20' },
      'churn-rate': { type: 'string', default: '500' },
      'churn-life-ms': { type: 'string', default: '1000' },
      'wait-runs': { type: 'string', default: '5' },
      'wait-head-ms': { type: 'string', default: '500' },
      fds: { type: 'string', default: '100000' },
      processes: { type: 'string', default: '1000' },
      consumers: { type: 'string', default: 'watch,serve,mcp,run,wait' },
      'churn-consumers': { type: 'string', default: 'watch' },
      modes: { type: 'string', default: 'tracefs,poll,poll-unpriv' },
    },
  },
  import.meta.url,
);
const N = Number(values.n);
const IDLE_S = Number(values['idle-s']);
const WAIT_RUNS = Number(values['wait-runs']);
const WAIT_HEAD_MS = Number(values['wait-head-ms']);
const CHURN = { seconds: Number(values['churn-s']), rate: Number(values['churn-rate']), lifeMs: Number(values['churn-life-ms']) };
const MISS_MS = 5000; // an event later than this counts as missed
const RSS_SETTLED_S = 10; // churn: RSS is judged flat from here to the end, and from the start

const ALL_MODES = {
  tracefs: { name: 'tracefs (root)', trigger: 'tracefs', unprivileged: false, target: { p50: 5, p95: 20, idle: 0.3 } },
  poll: { name: 'poll (root)', trigger: 'poll', unprivileged: false, target: { p50: 100, p95: 250, idle: 0.5 } },
  'poll-unpriv': { name: 'poll (nobody)', trigger: 'poll', unprivileged: true, target: { p50: 100, p95: 250, idle: 0.5 } },
};
const CONSUMER_KEYS = { watch: 'watch --json', serve: 'serve SSE', mcp: 'mcp get_port_events', run: 'run' };
const root = process.getuid?.() === 0;
const modes = values.modes
  .split(',')
  .filter((m) => root || m === 'poll')
  .map((m) => ALL_MODES[m] ?? usage(`unknown mode ${m}`));
const list = (text) => text.split(',').filter((x) => x !== '');
const consumers = list(values.consumers);
for (const c of consumers) if (c !== 'wait' && !CONSUMER_KEYS[c]) usage(`unknown consumer ${c}`);
const churnConsumers = list(values['churn-consumers']);
for (const c of churnConsumers) if (!CONSUMER_KEYS[c]) usage(`unknown churn consumer ${c}`);

function usage(message) {
  console.error(`busy-host: ${message}`);
  process.exit(2);
}

const log = (m) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${m}`);
const share = (k, n) => `${k}/${n}`;

/** Open events for the batch's listeners: the one with the port that opened last before the event. */
function reportedShare(sink, batch) {
  const seen = new Set();
  for (const e of sink.events) {
    if (e.type !== 'open') continue;
    let best = null;
    for (const l of batch) if (l.port === e.port && l.tOpen <= e.t && (!best || l.tOpen > best.tOpen)) best = l;
    if (best) seen.add(best);
  }
  return seen.size;
}

/**
 * Until a new listener is reported: the first scan, its owner walk, the SSE stream or the
 * MCP session all done. (A listener already there when the consumer starts is initial
 * state, never an event: so a fresh one each second.)
 */
async function ready(c, name) {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const probe = await c.driver.open();
    const seen = await c.sink.seen('open', probe.port, probe.tOpen, 1000);
    await c.driver.close(probe.id);
    if (seen !== null) {
      await c.sink.seen('close', probe.port, seen, 30_000);
      return;
    }
  }
  throw new Error(`${name} reported nothing in 120 s`);
}

async function latencies(c) {
  const opens = [];
  const closes = [];
  let missed = 0;
  for (let i = 0; i < N; i++) {
    await jitter(150);
    const l = await c.driver.open();
    const tOpened = await c.sink.seen('open', l.port, l.tOpen, MISS_MS);
    if (tOpened === null) missed++;
    else opens.push(msBetween(l.tOpen, tOpened));
    await jitter(150);
    const tClose = await c.driver.close(l.id);
    const tClosed = await c.sink.seen('close', l.port, tClose, MISS_MS);
    if (tClosed === null) missed++;
    else closes.push(msBetween(tClose, tClosed));
  }
  return { opens, closes, missed };
}

async function lived(c, lifeMs) {
  const batch = await c.driver.batch(N, 37, lifeMs);
  await sleep(2500); // the poll interval's floor is 100 ms; anything later is not "reported"
  return reportedShare(c.sink, batch);
}

async function measureConsumer(key, mode) {
  const name = CONSUMER_KEYS[key];
  log(`${name}, ${mode.name}`);
  const c = await CONSUMERS[name](mode);
  try {
    const t0 = nowNs();
    await ready(c, name);
    const startMs = msBetween(t0, nowNs());
    const idle = await idleCost(c.pid, IDLE_S);
    const lat = await latencies(c);
    const l50 = await lived(c, 50);
    const l250 = await lived(c, 250);
    return { consumer: name, mode, startMs, idle, ...lat, lived: [`${share(l50, N)}`, `${share(l250, N)}`] };
  } finally {
    c.driver.end();
    await c.stop();
  }
}

async function measureWait(mode) {
  log(`wait, ${mode.name}`);
  const driver = Driver.spawn(mode.unprivileged);
  try {
    const opens = [];
    let missed = 0;
    const once = async (lifeMs) => {
      const port = await driver.free();
      const w = startWait(mode, port);
      await sleep(WAIT_HEAD_MS);
      await jitter(150);
      const l = await driver.open(port);
      if (lifeMs !== undefined) await sleep(lifeMs);
      const exited = await Promise.race([w.exited, sleep(lifeMs === undefined ? MISS_MS : 2000).then(() => null)]);
      await driver.close(l.id);
      if (exited === null) await w.stop();
      return exited?.code === 0 ? msBetween(l.tOpen, exited.t) : null;
    };
    for (let i = 0; i < N; i++) {
      const ms = await once();
      if (ms === null) missed++;
      else opens.push(ms);
    }
    const livedShares = [];
    for (const life of [50, 250, 300]) {
      let k = 0;
      for (let i = 0; i < WAIT_RUNS; i++) if ((await once(life)) !== null) k++;
      livedShares.push(share(k, WAIT_RUNS));
    }
    const w = startWait(mode, await driver.free());
    const idle = await idleCost(w.pid, IDLE_S, WAIT_HEAD_MS + 1000);
    await w.stop();
    return { consumer: 'wait', mode, idle, opens, closes: [], missed, lived: livedShares };
  } finally {
    driver.end();
  }
}

async function churn(mode, name) {
  log(`churn, ${name}, ${mode.name}`);
  const c = await CONSUMERS[name](mode);
  try {
    await ready(c, name);
    await sleep(1000);
    const rssStart = rssMbOf(c.pid);
    const cpu0 = cpuMsOf(c.pid);
    const t0 = nowNs();
    let rssMax = rssStart;
    const sampler = setInterval(() => (rssMax = Math.max(rssMax, rssMbOf(c.pid))), 500);
    // Once the working set is there (CHURN.rate × life listeners alive, the heap at its pace):
    // from then on RSS should not grow however long the churn goes on.
    let rssSettled = null;
    const settle = setTimeout(() => (rssSettled = rssMbOf(c.pid)), RSS_SETTLED_S * 1000);
    const batch = await c.driver.batch(CHURN.rate * CHURN.seconds, 1000 / CHURN.rate, CHURN.lifeMs);
    const keys = new Map(batch.map((l) => [`${l.port}:${l.inode}`, { open: 0, close: 0, update: 0, owned: false, ownedLate: false }]));
    const count = () => {
      for (const v of keys.values()) {
        v.open = v.close = v.update = 0;
        v.owned = v.ownedLate = false;
      }
      for (const e of c.sink.events) {
        const k = keys.get(`${e.port}:${e.inode}`);
        if (!k) continue;
        k[e.type]++;
        if (e.type === 'open' && e.owner !== null && e.owner !== undefined) k.owned = true;
        if (e.type === 'update' && e.owner !== null && e.owner !== undefined) k.ownedLate = true;
      }
      return [...keys.values()].every((v) => v.close > 0 || v.open === 0);
    };
    await until(count, 10_000, 250);
    await sleep(1000);
    count();
    clearInterval(sampler);
    clearTimeout(settle);
    const wallMs = msBetween(t0, nowNs());
    const cpuPct = ((cpuMsOf(c.pid) - cpu0) / wallMs) * 100;
    const rssEnd = rssMbOf(c.pid);
    const v = [...keys.values()];
    return {
      mode,
      consumer: name,
      listeners: v.length,
      exactlyOnce: v.filter((x) => x.open === 1 && x.close === 1).length,
      missed: v.filter((x) => x.open === 0).length,
      twice: v.filter((x) => x.open > 1 || x.close > 1).length,
      unclosed: v.filter((x) => x.open > 0 && x.close === 0).length,
      // Opens that named their owner, and those whose owner came later as an update; null when the consumer does not say.
      owned: c.sink.events.some((e) => e.owner !== undefined) ? v.filter((x) => x.owned).length : null,
      ownedLate: v.filter((x) => !x.owned && x.ownedLate).length,
      cpuPct,
      rssStart,
      rssSettled,
      rssEnd,
      rssMax,
    };
  } finally {
    c.driver.end();
    await c.stop();
  }
}

let interrupted = false;
process.on('SIGINT', () => {
  if (interrupted) return;
  interrupted = true;
  log('interrupted: stopping everything');
  stopAll().finally(() => process.exit(130));
});

const began = Date.now();
let host;
try {
  log(`starting the busy host: ${values.fds} fds, ${values.processes} idle processes`);
  host = await startBusyHost(Number(values.fds), Number(values.processes));
  const rows = [];
  const churns = [];
  for (const mode of modes) {
    for (const key of consumers) rows.push(key === 'wait' ? await measureWait(mode) : await measureConsumer(key, mode));
    if (CHURN.seconds > 0) for (const key of churnConsumers) churns.push(await churn(mode, CONSUMER_KEYS[key]));
  }
  printTables(rows, churns, {
    host,
    fds: values.fds,
    idleProcesses: values.processes,
    n: N,
    waitRuns: WAIT_RUNS,
    waitHeadMs: WAIT_HEAD_MS,
    idleS: IDLE_S,
    churn: CHURN,
  });
  log(`done in ${((Date.now() - began) / 1000).toFixed(0)} s`);
} catch (e) {
  console.error(`busy-host: ${e.stack ?? e}`);
  process.exitCode = 1;
} finally {
  await stopAll();
}
process.exit(); // nothing of ours is left; do not wait for stray handles
