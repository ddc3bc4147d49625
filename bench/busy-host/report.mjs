/** The Markdown tables of bench/busy-host.mjs, with the targets of issue 8 and whether each row meets them. */
import { cpus } from 'node:os';
import { waitLog } from './consumers.mjs';
import { msBetween, quantile } from './measure.mjs';

const fmt = (ms) => (Number.isNaN(ms) ? '–' : ms < 10 ? ms.toFixed(1) : ms.toFixed(0));
/** "k/n" says every one of n. */
const all = (s) => s.split('/')[0] === s.split('/')[1];

/**
 * `wait`'s "listen→answer" per run. The bench has its time to exit (`opens`: the first `n`
 * waits of the mode that exited 0, in order); the log has when each answer was read and when
 * each exited, so the answer came that much earlier (an answer read in the same turn as the
 * exit counts as at the exit). Null when the log does not match the row.
 */
export function waitAnswers(r, n, log = waitLog) {
  const runs = log
    .filter((e) => e.mode === r.mode.name)
    .slice(0, n)
    .filter((e) => e.code === 0);
  if (runs.length !== r.opens.length || runs.some((e) => e.tAnswer === null)) return null;
  return r.opens.map((exitMs, i) => exitMs - Math.max(0, msBetween(runs[i].tAnswer, runs[i].tExit)));
}

function verdict(r) {
  const t = r.mode.target;
  const misses = [];
  // wait: the answer is the report; its exit is held to the same target (scripts wait for it).
  const latencies = r.answers
    ? [
        ['answer', r.answers],
        ['exit', r.opens],
      ]
    : [['open', r.opens]];
  for (const [name, xs] of latencies) {
    if (!(quantile(xs, 0.5) <= t.p50)) misses.push(`${name} p50`);
    if (!(quantile(xs, 0.95) <= t.p95)) misses.push(`${name} p95`);
  }
  if (r.closes.length > 0 && !(quantile(r.closes, 0.5) <= t.p50)) misses.push('close p50');
  if (r.closes.length > 0 && !(quantile(r.closes, 0.95) <= t.p95)) misses.push('close p95');
  if (r.missed > 0) misses.push(`${r.missed} missed`);
  if (r.mode.trigger === 'tracefs' && r.consumer !== 'wait' && !r.lived.every(all)) misses.push('short-lived missed');
  if (r.consumer === 'wait' && !all(r.lived[2])) misses.push('missed a 300 ms listener');
  if (!(r.idle.cpuPct <= t.idle)) misses.push('idle CPU');
  return misses.length === 0 ? 'yes' : `**no**: ${misses.join(', ')}`;
}

const p50p95 = (xs) => `${fmt(quantile(xs, 0.5))} / ${fmt(quantile(xs, 0.95))}`;
/** wait: "answer A / B, exit C / D" (answer read from its stdout; exit: the status a script waits for). */
const latency = (r) => (r.answers ? `answer ${p50p95(r.answers)}, exit ${p50p95(r.opens)}` : p50p95(r.opens));

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
      `"50 ms"/"250 ms": listeners living that long that were reported (wait: living 50/250/300 ms, out of ${WAIT_RUNS}, wait started ${WAIT_HEAD_MS} ms before listen(); ` +
      `its latency twice: until its answer is read from its stdout, and until it has exited). ` +
      `Idle: CPU of the whole process, all threads, over ${IDLE_S} s. First event after start: from spawning the consumer to its first reported listener (its first scan and owner walk done).\n`,
  );
  console.log(
    '| consumer | trigger | listen→event p50 / p95 | close→event p50 / p95 | lived 50 ms | 250 ms | idle CPU | RSS | first event after start | target (p50 / p95, idle) | meets |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const row of rows) {
    const answers = row.consumer === 'wait' ? waitAnswers(row, N) : null;
    const r = answers ? { ...row, answers } : row;
    const t = r.mode.target;
    const close = r.closes.length ? `${fmt(quantile(r.closes, 0.5))} / ${fmt(quantile(r.closes, 0.95))}` : 'n/a';
    const lived = r.consumer === 'wait' ? [r.lived[0], `${r.lived[1]} (300 ms: ${r.lived[2]})`] : r.lived;
    console.log(
      `| ${r.consumer} | ${r.mode.name} | ${latency(r)}${r.missed ? ` (${r.missed} missed)` : ''} | ${close} | ${lived[0]} | ${lived[1]} | ${r.idle.cpuPct.toFixed(2)} % | ${r.idle.rssMb.toFixed(0)} MB | ${r.startMs === undefined ? 'n/a' : `${fmt(r.startMs)} ms`} | ≤ ${t.p50} / ≤ ${t.p95} ms, ≤ ${t.idle} % | ${verdict(r)} |`,
    );
  }
  if (churns.length === 0) return;
  console.log(
    `\nChurn: ${CHURN.rate} listeners/s for ${CHURN.seconds} s, each living ${CHURN.lifeMs} ms (the issue asks 2 min: \`--churn-s 120\`). Target: every listener opened and closed exactly once; RSS flat (± 10 %), judged twice: from before the churn to its end, and from 10 s into it (the working set there: ${CHURN.rate} listeners alive at once and the heap at its pace) to its end.\n`,
  );
  console.log(
    '| consumer | trigger | listeners | open+close exactly once | never reported | reported twice | open, never closed | owner in the open (+ by update) | CPU | RSS start → 10 s → end (max) | RSS flat ± 10 %: from start / from 10 s |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const c of churns) {
    const flatFrom = (mb) => (mb === null ? 'n/a' : Math.abs(c.rssEnd - mb) / mb <= 0.1 ? 'yes' : '**no**');
    console.log(
      `| ${c.consumer} | ${c.mode.name} | ${c.listeners} | ${c.exactlyOnce} (${((100 * c.exactlyOnce) / c.listeners).toFixed(1)} %) | ${c.missed} | ${c.twice} | ${c.unclosed} | ${c.owned === null ? 'n/a' : `${c.owned} (+${c.ownedLate})`} | ${c.cpuPct.toFixed(1)} % | ${c.rssStart.toFixed(0)} → ${c.rssSettled?.toFixed(0) ?? '–'} → ${c.rssEnd.toFixed(0)} (${c.rssMax.toFixed(0)}) MB | ${flatFrom(c.rssStart)} / ${flatFrom(c.rssSettled)} |`,
    );
  }
}
