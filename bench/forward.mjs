#!/usr/bin/env node
/**
 * portwatch forward, measured as users meet it (part of `npm run bench`; root, Linux):
 * the whole `portwatch forward` process, side by side with connecting directly, in one run.
 *
 *   node bench/forward.mjs [--gib 1] [--rounds 3] [--setups 300] [--idle 1000] [--listens 20] [--paths netns,netns-js,serve,serve-ws]
 *
 *   direct          a client on the host to a server on the host's loopback
 *   forward netns   `portwatch forward --netns-pid` to the same server in a network namespace
 *   netns-js        the same with PORTWATCH_FORWARD_RELAY=js: bytes copied by the JavaScript relay
 *                   (what runs where the addon cannot splice)
 *   forward serve   `portwatch forward URL` through a `portwatch serve` (its raw tunnel) on loopback
 *   serve-ws        the same with PORTWATCH_TUNNEL=ws: the WebSocket tunnel (bytes through JavaScript at both ends)
 *   socat           a peer relay: `socat TCP-LISTEN:P,bind=127.0.0.1,fork,reuseaddr,backlog=511 TCP:127.0.0.1:T`
 *                   to the same server on the host's loopback (two loopback hops, like the forward;
 *                   socat cannot enter the namespace; backlog=511 is Node's default, which the forward's
 *                   listener has: socat's own 5 resets the 64 parallel connects). One process per connection (fork): its CPU
 *                   counts the reaped children, its RSS is the sum over the parent and the children.
 *   socat-splice    the same with socat's splice option, where this socat has one (else skipped)
 *
 * Throughput of one connection and of 64 in parallel (GIB in total, uploaded; the best of ROUNDS
 * runs, the rows taking turns), CPU seconds per GiB over those runs (the client, i.e. this
 * process; the forward, with serve for the tunnel; the server), connection setup (connect + one byte there and back, p50/p95), 1,000
 * idle connections held (the forward's RSS before and after), and listen() in the target →
 * host port accepting, next to the engine's own detection (`portwatch watch --json` on the
 * same namespace). --paths picks the rows besides direct.
 */
import { performance } from 'node:perf_hooks';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { benchArgs } from './args.mjs';
import { createInterface } from 'node:readline';
import { setupOnce, upload } from './forward-target.mjs';

const { values } = benchArgs(
  {
    options: {
      gib: { type: 'string', default: '1' },
      rounds: { type: 'string', default: '3' },
      setups: { type: 'string', default: '300' },
      idle: { type: 'string', default: '1000' },
      listens: { type: 'string', default: '20' },
      // Which rows to run besides direct: netns, netns-js, serve, serve-ws, socat, socat-splice.
      paths: { type: 'string', default: 'netns,netns-js,serve,serve-ws,socat,socat-splice' },
    },
  },
  import.meta.url,
);
const PATHS = new Set(values.paths.split(','));
const TOTAL = Math.round(Number(values.gib) * 1024 ** 3);
const ROUNDS = Math.max(1, Number(values.rounds));
const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const TARGET = fileURLToPath(new URL('./forward-target.mjs', import.meta.url));
const children = new Set();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const quantile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];
const now = () => performance.timeOrigin + performance.now();

const groups = new Set(); // pids of detached children whose whole process group is ours (socat and its forks)
function stopAll() {
  for (const pid of groups) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
}
process.on('exit', stopAll);
process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143));
const notes = [];

/** A line-oriented child: send(line) → next JSON line. */
function lineChild(command, args, env = {}) {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  children.add(child);
  const lines = [];
  let wake = null;
  createInterface({ input: child.stdout }).on('line', (l) => {
    lines.push({ line: l, at: now() });
    wake?.();
  });
  const next = async (what, timeoutMs = 15_000) => {
    const deadline = Date.now() + timeoutMs;
    while (lines.length === 0) {
      if (Date.now() > deadline) throw new Error(`no answer from ${command} (${what}) within ${timeoutMs} ms`);
      await new Promise((r) => {
        wake = r;
        setTimeout(r, 50);
      });
    }
    return lines.shift();
  };
  return { child, next, send: (l) => child.stdin.write(`${l}\n`) };
}

async function targetListen(target, port = 0) {
  target.send(`listen ${port}`);
  return JSON.parse((await target.next('listen')).line);
}

async function throughput(port, parallel) {
  const per = Math.floor(TOTAL / parallel);
  const t = performance.now();
  await Promise.all(Array.from({ length: parallel }, () => upload(port, per)));
  const s = (performance.now() - t) / 1000;
  return (per * parallel) / 1024 ** 2 / s; // MiB/s
}

async function setups(port, n) {
  const xs = [];
  for (let i = 0; i < 10; i++) await setupOnce(port);
  for (let i = 0; i < n; i++) xs.push(await setupOnce(port));
  return { p50: quantile(xs, 0.5), p95: quantile(xs, 0.95) };
}

/** CPU seconds (user, system) a process has used so far; with `reaped`, its waited-for children's too. */
function cpuSeconds(pid, reaped = false) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const tick = 100; // USER_HZ on Linux
  const kids = reaped ? [Number(fields[13]), Number(fields[14])] : [0, 0];
  return { user: (Number(fields[11]) + kids[0]) / tick, sys: (Number(fields[12]) + kids[1]) / tick };
}

/** Live child pids of `pid` (socat's per-connection forks). */
const childPids = (pid) =>
  readdirSync(`/proc/${pid}/task`).flatMap((t) =>
    readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
  );

/** Waits until a forking relay has reaped every connection's child, so that their CPU is counted. */
async function reaped(pid, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (childPids(pid).length > 0) {
    if (Date.now() > deadline) throw new Error(`relay ${pid} still has ${childPids(pid).length} children after ${timeoutMs} ms`);
    await sleep(5);
  }
}

function statusMb(pid, field) {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/${field === 'Pss' ? 'smaps_rollup' : 'status'}`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return 0; // a child that exited between listing and reading
  }
}
const rssMb = (pid) => statusMb(pid, 'VmRSS');

/** RSS of a relay: the process, or for a forking one the sum over it and its children (and their PSS). */
function relayMemory(pid, tree) {
  const pids = tree ? [pid, ...childPids(pid)] : [pid];
  const sum = (field) => pids.reduce((a, p) => a + statusMb(p, field), 0);
  return { rss: sum('VmRSS'), pss: tree ? sum('Pss') : NaN, processes: pids.length };
}

async function idleConnections(port, n, pid, tree = false) {
  if (tree) {
    await reaped(pid);
    const before = relayMemory(pid, true);
    const sockets = [];
    for (let i = 0; i < n; i++) sockets.push(await holdOne(port));
    const deadline = Date.now() + 15_000; // every fork has connected its far end
    while (childPids(pid).length < n && Date.now() < deadline) await sleep(20);
    await sleep(1500);
    const held = relayMemory(pid, true);
    for (const s of sockets) s.destroy();
    return { before: before.rss, held: held.rss, pssBefore: before.pss, pssHeld: held.pss, processes: held.processes };
  }
  const before = rssMb(pid);
  const sockets = [];
  for (let i = 0; i < n; i++) {
    const s = net.connect({ port, host: '127.0.0.1' });
    await new Promise((resolve, reject) => {
      s.once('connect', () => resolve(s.write('H')));
      s.once('error', reject);
    });
    sockets.push(s);
  }
  await sleep(1500);
  const held = rssMb(pid);
  for (const s of sockets) s.destroy();
  return { before, held };
}

/** Waits for a `forward` NDJSON event for `remote`; returns its host port. */
async function forwardedPort(fwd, remote, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { line } = await fwd.next(`forward of ${remote}`, deadline - Date.now());
    const e = JSON.parse(line);
    if (e.type === 'forward' && e.remote.port === remote) return e.local[0].port;
  }
  throw new Error(`no forward of ${remote}`);
}

/** Connects every 0.5 ms until `port` accepts; resolves with the time it first did. */
async function firstAccept(port, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise((resolve) => {
      const s = net.connect({ port, host: '127.0.0.1' });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return now();
    await sleep(0.5);
  }
  throw new Error(`port ${port} never accepted`);
}

function holdOne(port) {
  const s = net.connect({ port, host: '127.0.0.1' });
  return new Promise((resolve, reject) => {
    s.once('connect', () => {
      s.write('H');
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** A free loopback port (socat needs a number; a small race with other programs is accepted). */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** socat relaying a loopback port to `target` on the host; null (with a note) when it cannot run. */
async function socatRow(name, target, sink, splice) {
  const probe = spawnSync('socat', ['-h'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    notes.push(`${name}: skipped, socat is not installed (Debian: apt-get install socat)`);
    return null;
  }
  // A global option whose help line mentions splice (socat 1.7.4 has none).
  const spliceFlag = /^\s+(-\S+)\b.*splice/im.exec(probe.stdout)?.[1];
  if (splice && spliceFlag === undefined) {
    const version = /socat version (\S+)/.exec(spawnSync('socat', ['-V'], { encoding: 'utf8' }).stdout)?.[1] ?? '?';
    notes.push(`${name}: skipped, socat ${version} has no splice option (\`socat -h | grep -i splice\` is empty)`);
    return null;
  }
  const port = await freePort();
  const args = [...(splice ? [spliceFlag] : []), `TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr,backlog=511`, `TCP:127.0.0.1:${target}`];
  // Its own process group, so that stopping it by pid also stops the forks holding connections.
  const child = spawn('socat', args, { stdio: ['ignore', 'ignore', 'inherit'], detached: true });
  children.add(child);
  groups.add(child.pid);
  await firstAccept(port);
  return { name, port, pid: child.pid, relays: [child.pid], sink, tree: true };
}

async function main() {
  if (process.getuid?.() !== 0) throw new Error('bench/forward.mjs needs root (network namespaces, direct mode)');
  const host = lineChild(process.execPath, [TARGET]);
  const inner = lineChild('unshare', ['--net', 'sh', '-c', `ip link set lo up && exec "${process.execPath}" "${TARGET}"`]);
  const hostSink = await targetListen(host);
  const innerSink = await targetListen(inner, hostSink.port + 1);

  const direct = { name: 'direct (no forward)', port: hostSink.port, pid: null, relays: [], sink: host.child.pid };
  const rows = [direct];
  const forwardNetns = async (name, env) => {
    const fwd = lineChild(process.execPath, [CLI, 'forward', '--netns-pid', String(inner.child.pid), '--json', '--no-config'], env);
    const pid = fwd.child.pid;
    rows.push({ name, port: await forwardedPort(fwd, innerSink.port), pid, relays: [pid], sink: inner.child.pid });
  };
  if (PATHS.has('netns')) await forwardNetns('forward --netns-pid', {});
  // The same direct mode with the JavaScript relay (what runs when the addon cannot splice).
  if (PATHS.has('netns-js')) await forwardNetns('forward --netns-pid, JS relay', { PORTWATCH_FORWARD_RELAY: 'js' });
  if (PATHS.has('serve') || PATHS.has('serve-ws')) {
    // serve prints its URL on stderr.
    const serveErr = spawn(process.execPath, [CLI, 'serve', '--listen', '127.0.0.1:0', '--no-probe'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.add(serveErr);
    const serveUrl = await new Promise((resolve, reject) => {
      let err = '';
      serveErr.stderr.on('data', (d) => {
        err += d;
        const m = /serving (http:\/\/\S+)/.exec(err);
        if (m) resolve(m[1]);
      });
      setTimeout(() => reject(new Error(`serve did not start: ${err}`)), 15_000);
    });
    const forwardServe = async (name, env) => {
      const fwdServe = lineChild(process.execPath, [CLI, 'forward', serveUrl, '--json', '--no-config'], env);
      const port = await forwardedPort(fwdServe, hostSink.port);
      const pid = fwdServe.child.pid;
      rows.push({ name, port, pid, relays: [pid, serveErr.pid], sink: host.child.pid });
    };
    if (PATHS.has('serve')) await forwardServe('forward URL (serve tunnel, raw)', {});
    if (PATHS.has('serve-ws')) await forwardServe('forward URL (serve tunnel, WebSocket)', { PORTWATCH_TUNNEL: 'ws' });
  }
  // A peer relay over the same two loopback hops, to the same server program on the host.
  const socats = [];
  if (PATHS.has('socat')) socats.push(await socatRow('socat (fork, to the host server)', hostSink.port, host.child.pid, false));
  if (PATHS.has('socat-splice'))
    socats.push(await socatRow('socat splice (fork, to the host server)', hostSink.port, host.child.pid, true));
  for (const r of socats) if (r !== null) rows.push(r);

  // Throughput: the rows take turns, ROUNDS times, and each keeps its best run, so that a burst
  // of other work on the machine does not land on one row only. CPU seconds per GiB over all
  // runs: this process (the client), the forward (and serve), the sink.
  const cpuNow = async (row) => {
    if (row.tree) await reaped(row.pid);
    const own = process.cpuUsage();
    const relay = row.relays.map((pid) => cpuSeconds(pid, row.tree)).reduce((a, c) => a + c.user + c.sys, 0);
    const sink = cpuSeconds(row.sink);
    return { client: (own.user + own.system) / 1e6, relay, server: sink.user + sink.sys };
  };
  for (const row of rows) Object.assign(row, { one: 0, many: 0, cpu: { client: 0, relay: 0, server: 0 } });
  for (let round = 0; round < ROUNDS; round++) {
    for (const row of rows) {
      const cpu0 = await cpuNow(row);
      row.one = Math.max(row.one, await throughput(row.port, 1));
      row.many = Math.max(row.many, await throughput(row.port, 64));
      const cpu1 = await cpuNow(row);
      for (const k of Object.keys(cpu0)) row.cpu[k] += (cpu1[k] - cpu0[k]) / ((2 * ROUNDS * TOTAL) / 1024 ** 3);
    }
  }
  for (const row of rows) {
    row.setup = await setups(row.port, Number(values.setups));
    if (row.pid !== null) row.idle = await idleConnections(row.port, Number(values.idle), row.pid, row.tree);
  }

  // listen() in the namespace → the host port accepts, beside the engine's detection.
  const listens = PATHS.has('netns') ? Number(values.listens) : 0;
  const watcher =
    listens > 0 ? lineChild(process.execPath, [CLI, 'watch', '--json', '--netns-pid', String(inner.child.pid), '--no-config']) : null;
  if (watcher !== null) await sleep(1000);
  const accepts = [];
  const detections = [];
  for (let i = 0; i < listens; i++) {
    const port = 31_000 + i * 7;
    const { at } = await targetListen(inner, port);
    const accepted = await firstAccept(port);
    accepts.push(accepted - at);
    for (;;) {
      const { line, at: seen } = await watcher.next('watch event');
      const e = JSON.parse(line);
      if (e.type === 'open' && e.listener.port === port) {
        detections.push(seen - at);
        break;
      }
    }
  }

  const base = rows[0];
  console.log(
    `portwatch forward: ${values.gib} GiB per throughput run, best of ${ROUNDS}, ${values.setups} setups, ${values.idle} idle connections (one run, ratios against direct)\n`,
  );
  console.log(
    '| path | 1 connection | 64 connections | CPU s per GiB: client / forward / server | setup p50 / p95 | RSS idle → 1,000 connections held |',
  );
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    const ratio = (x, b) => (r === base ? '' : ` (${(x / b).toFixed(2)}×)`);
    const procs = r.idle?.processes ? ` (sum of ${r.idle.processes} processes)` : '';
    const idle = r.idle ? `${r.idle.before.toFixed(0)} → ${r.idle.held.toFixed(0)} MB${procs}` : '—';
    const c = r.cpu;
    const cpu = `${c.client.toFixed(2)} / ${r.relays.length > 0 ? c.relay.toFixed(2) : '—'} / ${c.server.toFixed(2)}`;
    console.log(
      `| ${r.name} | ${r.one.toFixed(0)} MiB/s${ratio(r.one, base.one)} | ${r.many.toFixed(0)} MiB/s${ratio(r.many, base.many)} | ${cpu} | ${r.setup.p50.toFixed(2)} / ${r.setup.p95.toFixed(2)} ms | ${idle} |`,
    );
  }
  for (const r of rows)
    if (r.idle?.processes)
      notes.push(
        `${r.name}: RSS counts pages shared by the forks once per process; PSS (shared pages split) ${r.idle.pssBefore.toFixed(0)} → ${r.idle.pssHeld.toFixed(0)} MB`,
      );
  if (notes.length > 0) console.log(`\n${notes.join('\n')}`);
  if (accepts.length > 0)
    console.log(
      `\nlisten() in the namespace → host port accepting: p50 ${quantile(accepts, 0.5).toFixed(1)} ms, p95 ${quantile(accepts, 0.95).toFixed(1)} ms; ` +
        `engine detection (watch --json, same listeners): p50 ${quantile(detections, 0.5).toFixed(1)} ms, p95 ${quantile(detections, 0.95).toFixed(1)} ms`,
    );
  host.child.stdin.end();
  inner.child.stdin.end();
  stopAll();
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(`bench/forward.mjs: ${e.message}`);
    process.exit(1);
  },
);
