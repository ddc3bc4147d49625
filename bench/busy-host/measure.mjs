/** Small measuring tools for bench/busy-host.mjs: time, quantiles, CPU and memory of a process. */
import { readdirSync, readFileSync } from 'node:fs';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** CLOCK_MONOTONIC in ns, the clock the Python driver stamps listen() and close() with. */
export const nowNs = () => process.hrtime.bigint();
export const msBetween = (fromNs, toNs) => Number(BigInt(toNs) - BigInt(fromNs)) / 1e6;
export const jitter = (maxMs) => sleep(Math.random() * maxMs); // never phase-lock with a scan timer

export function quantile(xs, q) {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

/** CPU time of every thread of `pid` in ms, from schedstat (ns, not 10 ms ticks); NaN if gone. */
export function cpuMsOf(pid) {
  let ns = 0;
  let tids;
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return NaN;
  }
  for (const tid of tids) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return ns / 1e6;
}

export function rssMbOf(pid) {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
  } catch {
    return NaN;
  }
}

/** Share of one core `pid` used over `seconds`, after `settleMs`, and its RSS at the end. */
export async function idleCost(pid, seconds, settleMs = 1000) {
  await sleep(settleMs);
  const c0 = cpuMsOf(pid);
  const t0 = nowNs();
  await sleep(seconds * 1000);
  const cpu = (cpuMsOf(pid) - c0) / msBetween(t0, nowNs());
  return { cpuPct: cpu * 100, rssMb: rssMbOf(pid) };
}

/** Waits until `check()` is truthy or `timeoutMs` passes; returns its last value. */
export async function until(check, timeoutMs, everyMs = 20) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v || Date.now() > deadline) return v;
    await sleep(everyMs);
  }
}
