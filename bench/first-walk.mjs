#!/usr/bin/env node
/**
 * A watcher's first owner walk on a busy host, and a listener that appears during it
 * (`node bench/first-walk.mjs`; needs `npm run build`; root for tracefs; never part of `npm test`):
 *
 *   node bench/first-walk.mjs [--runs 5] [--head-ms 500] [--fds 100000] [--processes 1000]
 *     [--trigger tracefs] [--dist dist]
 *
 * The host is bench/busy-host/load.py (descriptors held, idle processes, one listener no
 * process owns, so a first walk must read every fd to learn that). A watcher for one port is
 * started in a child process; `--head-ms` after it says its first scan has begun, the driver
 * listens on that port, during the first owner walk. Measured: start → `ready`, listen() →
 * the watcher's `open`, whether the open carried its owner, and how many listeners landed in
 * the first table instead (listed in `ready`, not opened: too early to tell anything). Two
 * ways: `filter` (owners of every listener are looked for, as `watch` and `serve` do) and
 * `select` (only the port's, as `wait` does). Prints one line per way, p50 / max over --runs.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { benchArgs } from './args.mjs';
import { msBetween, nowNs, quantile, sleep } from './busy-host/measure.mjs';
import { Driver, startBusyHost, stopAll, track } from './busy-host/processes.mjs';

const { values } = benchArgs(
  {
    options: {
      runs: { type: 'string', default: '5' },
      'head-ms': { type: 'string', default: '50' },
      fds: { type: 'string', default: '100000' },
      processes: { type: 'string', default: '1000' },
      trigger: { type: 'string', default: process.getuid?.() === 0 ? 'tracefs' : 'poll' },
      dist: { type: 'string', default: new URL('../dist', import.meta.url).pathname },
    },
  },
  import.meta.url,
);
values.dist = resolve(values.dist); // the watcher imports it from an -e script: no relative path
if (!existsSync(`${values.dist}/index.js`)) {
  console.error(`first-walk: ${values.dist}/index.js is missing: run npm run build first`);
  process.exit(2);
}
const log = (m) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${m}`);

// The watcher: one port, `filter` or `select`; prints "started NS", "ready NS IN-READY", then "open NS PID" and exits.
const WATCHER = `
const [dist, trigger, port, how] = process.argv.slice(1);
const { watch } = await import(dist + '/index.js');
const wanted = (l) => l.port === Number(port);
const w = watch({ trigger, persistent: true, ...(how === 'select' ? { select: wanted } : { filter: wanted }) });
console.log('started ' + process.hrtime.bigint());
w.on('ready', (ls) => {
  console.log('ready ' + process.hrtime.bigint() + ' ' + (ls.some(wanted) ? 1 : 0));
  if (ls.some(wanted)) process.exit(0); // listening before the first table was read: no open to time
});
w.on('open', (e) => {
  if (!wanted(e.listener)) return;
  console.log('open ' + process.hrtime.bigint() + ' ' + (e.listener.process?.pid ?? 'null'));
  process.exit(0);
});
setTimeout(() => process.exit(3), 60_000).unref();
`;

async function once(driver, how) {
  const port = await driver.free();
  const t0 = nowNs();
  const child = track(
    spawn(process.execPath, ['--input-type=module', '-e', WATCHER, values.dist, values.trigger, String(port), how], {
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  const lines = [];
  let wake = null;
  createInterface({ input: child.stdout }).on('line', (l) => {
    lines.push(l.split(' '));
    wake?.();
  });
  const exited = new Promise((r) => child.once('exit', r));
  const deadline = Date.now() + 30_000;
  while (!lines.some((x) => x[0] === 'started') && child.exitCode === null && Date.now() < deadline) {
    await Promise.race([new Promise((r) => (wake = r)), sleep(100)]);
  }
  await sleep(Number(values['head-ms']));
  const l = await driver.open(port);
  await exited;
  await driver.close(l.id);
  const ready = lines.find((x) => x[0] === 'ready');
  const open = lines.find((x) => x[0] === 'open');
  return {
    readyMs: ready ? msBetween(t0, BigInt(ready[1])) : NaN,
    inReady: ready?.[2] === '1',
    readyAfterListenMs: ready ? msBetween(l.tOpen, BigInt(ready[1])) : NaN,
    openMs: open ? msBetween(l.tOpen, BigInt(open[1])) : NaN,
    owner: open?.[2] !== undefined && open[2] !== 'null',
  };
}

process.on('SIGINT', () => stopAll().finally(() => process.exit(130)));
let host;
try {
  log(`busy host: ${values.fds} fds, ${values.processes} idle processes`);
  host = await startBusyHost(Number(values.fds), Number(values.processes));
  const driver = Driver.spawn(false);
  try {
    for (const how of ['filter', 'select']) {
      const runs = [];
      for (let i = 0; i < Number(values.runs); i++) runs.push(await once(driver, how));
      const f = (xs) => (xs.length === 0 ? '- / -' : `${quantile(xs, 0.5).toFixed(1)} / ${Math.max(...xs).toFixed(1)}`);
      const opened = runs.filter((r) => !r.inReady);
      console.log(
        `${how.padEnd(6)} trigger ${values.trigger}: ready p50/max ${f(runs.map((r) => r.readyMs))} ms; ` +
          `listen→open p50/max ${f(opened.map((r) => r.openMs))} ms (ready came ${f(opened.map((r) => r.readyAfterListenMs))} ms after listen); ` +
          `owner named ${opened.filter((r) => r.owner).length}/${opened.length}; in the first table ${runs.length - opened.length}/${runs.length}`,
      );
    }
  } finally {
    driver.end();
  }
} catch (e) {
  console.error(`first-walk: ${e.stack ?? e}`);
  process.exitCode = 1;
} finally {
  await host?.stop();
  await stopAll();
}
process.exit();
