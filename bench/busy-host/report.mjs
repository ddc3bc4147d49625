/** The Markdown tables of bench/busy-host.mjs, with the targets of issue 8 and whether each row meets them. */
import { cpus } from 'node:os';
import { quantile } from './measure.mjs';

const fmt = (ms) => (Number.isNaN(ms) ? '–' : ms < 10 ? ms.toFixed(1) : ms.toFixed(0));
/** "k/n" says every one of n. */
const all = (s) => s.split('/')[0] === s.split('/')[1];

function verdict(r) {
  const t = r.mode.target;
  const misses = [];
  const p50 = quantile(r.opens, 0.5);
  const p95 = quantile(r.opens, 0.95);
  if (!(p50 <= t.p50)) misses.push('open p50');
  if (!(p95 <= t.p95)) misses.push('open p95');
  if (r.closes.length > 0 && !(quantile(r.closes, 0.5) <= t.p50)) misses.push('close p50');
  if (r.closes.length > 0 && !(quantile(r.closes, 0.95) <= t.p95)) misses.push('close p95');
  if (r.missed > 0) misses.push(`${r.missed} missed`);
  if (r.mode.trigger === 'tracefs' && r.consumer !== 'wait' && !r.lived.every(all)) misses.push('short-lived missed');
  if (r.consumer === 'wait' && !all(r.lived[2])) misses.push('missed a 300 ms listener');
  if (!(r.idle.cpuPct <= t.idle)) misses.push('idle CPU');
  return misses.length === 0 ? 'yes' : `**no**: ${misses.join(', ')}`;
}

export function printTables(
  rows,
  churns,
  { host, fds, idleProcesses, n: N, waitRuns: WAIT_RUNS, waitHeadMs: WAIT_HEAD_MS, idleS: IDLE_S, churn: CHURN },
) {
  console.log(`\n### portwatch on a busy host\n`);
  console.log(
    `Node ${process.version}, ${cpus().length} CPUs, ${new Date().toISOString().slice(0, 10)}; ` +
      `${host.processes} helper processes holding ~${fds} fds and ${idleProcesses} idle, one listener no process owns. ` +
      `${N} listeners per row (times in ms, from listen()/close() in the listening process to the consumer having the event); ` +
      `"50 ms"/"250 ms": listeners living that long that were reported (wait: living 50/250/300 ms, out of ${WAIT_RUNS}, wait started ${WAIT_HEAD_MS} ms before listen()). ` +
      `Idle: CPU of the whole process, all threads, over ${IDLE_S} s. First event after start: from spawning the consumer to its first reported listener (its first scan and owner walk done).\n`,
  );
  console.log(
    '| consumer | trigger | listen→event p50 / p95 | close→event p50 / p95 | lived 50 ms | 250 ms | idle CPU | RSS | first event after start | target (p50 / p95, idle) | meets |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const t = r.mode.target;
    const close = r.closes.length ? `${fmt(quantile(r.closes, 0.5))} / ${fmt(quantile(r.closes, 0.95))}` : 'n/a';
    const lived = r.consumer === 'wait' ? [r.lived[0], `${r.lived[1]} (300 ms: ${r.lived[2]})`] : r.lived;
    console.log(
      `| ${r.consumer} | ${r.mode.name} | ${fmt(quantile(r.opens, 0.5))} / ${fmt(quantile(r.opens, 0.95))}${r.missed ? ` (${r.missed} missed)` : ''} | ${close} | ${lived[0]} | ${lived[1]} | ${r.idle.cpuPct.toFixed(2)} % | ${r.idle.rssMb.toFixed(0)} MB | ${r.startMs === undefined ? 'n/a' : `${fmt(r.startMs)} ms`} | ≤ ${t.p50} / ≤ ${t.p95} ms, ≤ ${t.idle} % | ${verdict(r)} |`,
    );
  }
  if (churns.length === 0) return;
  console.log(
    `\nChurn, \`watch --json\`: ${CHURN.rate} listeners/s for ${CHURN.seconds} s, each living ${CHURN.lifeMs} ms (the issue asks 2 min: \`--churn-s 120\`). Target: every listener opened and closed exactly once; RSS flat (± 10 %).\n`,
  );
  console.log(
    '| trigger | listeners | open+close exactly once | never reported | reported twice | open, never closed | CPU | RSS start → end (max) | RSS flat ± 10 % |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const c of churns) {
    const flat = Math.abs(c.rssEnd - c.rssStart) / c.rssStart <= 0.1;
    console.log(
      `| ${c.mode.name} | ${c.listeners} | ${c.exactlyOnce} (${((100 * c.exactlyOnce) / c.listeners).toFixed(1)} %) | ${c.missed} | ${c.twice} | ${c.unclosed} | ${c.cpuPct.toFixed(1)} % | ${c.rssStart.toFixed(0)} → ${c.rssEnd.toFixed(0)} (${c.rssMax.toFixed(0)}) MB | ${flat ? 'yes' : '**no**'} |`,
    );
  }
}
