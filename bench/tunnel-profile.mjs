#!/usr/bin/env node
/**
 * The serve tunnel alone, side by side with connecting directly, in one run (not part of
 * `npm run bench`; bench/forward.mjs has the full table). Plain loopback, no root.
 *
 *   node bench/tunnel-profile.mjs [--mib 1024] [--conns 1,64] [--dir up,down] [--setups 200]
 *                                 [--idle 0] [--dist dist] [--prof DIR] [--rounds 1]
 *
 *   up     the client sends MIB in total (split over the connections) and the far end counts
 *   down   the far end sends MIB in total and the client counts
 *   --prof DIR   runs serve and forward with --cpu-prof, profiles written to DIR on exit
 *   --dist DIR   the build to run (default: this package's dist/)
 *   --node-flags="…"   extra node flags for serve and forward
 *   --gc         counts serve's and forward's garbage collections (--trace-gc) in each tunnel run
 *
 * Every row's bytes are checked: the far end's count (up) or the client's (down) must be
 * exact. The far end is bench/forward-target.mjs, in a process of its own.
 */
import { performance } from 'node:perf_hooks';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchArgs } from './args.mjs';
import { createInterface } from 'node:readline';
import { setupOnce, upload } from './forward-target.mjs';

const { values } = benchArgs(
  {
    options: {
      mib: { type: 'string', default: '1024' },
      conns: { type: 'string', default: '1,64' },
      dir: { type: 'string', default: 'up,down' },
      setups: { type: 'string', default: '200' },
      idle: { type: 'string', default: '0' },
      rounds: { type: 'string', default: '1' },
      dist: { type: 'string', default: fileURLToPath(new URL('../dist', import.meta.url)) },
      prof: { type: 'string' },
      'node-flags': { type: 'string', default: '' },
      gc: { type: 'boolean', default: false },
    },
  },
  import.meta.url,
);
const TARGET = fileURLToPath(new URL('./forward-target.mjs', import.meta.url));

const children = new Set();
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});
const quantile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];

function firstLine(child, re, stream, what, timeoutMs = 15_000) {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`${what}: nothing within ${timeoutMs} ms: ${text}`)), timeoutMs);
    const rl = createInterface({ input: stream });
    rl.on('line', (l) => {
      text += `${l}\n`;
      let m = null;
      try {
        m = re(l);
      } catch {
        // not the line we wait for (--trace-gc lines among JSON)
      }
      if (m !== null && m !== undefined) {
        clearTimeout(timer);
        resolve(m);
      }
    });
  });
}

function run(args, stdio = ['pipe', 'pipe', 'pipe']) {
  const child = spawn(process.execPath, args, { stdio });
  children.add(child);
  return child;
}

function download(port, bytes) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    let got = 0;
    s.on('connect', () => s.end(`D${bytes}\n`));
    s.on('data', (d) => (got += d.length));
    s.on('end', () => (got === bytes ? resolve() : reject(new Error(`received ${got}, far end sent ${bytes}`))));
    s.on('error', reject);
  });
}

async function throughput(port, dir, parallel, total) {
  const per = Math.floor(total / parallel);
  const t = performance.now();
  await Promise.all(Array.from({ length: parallel }, () => (dir === 'up' ? upload : download)(port, per)));
  return (per * parallel) / 1024 ** 2 / ((performance.now() - t) / 1000);
}

const rss = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
/** CPU seconds a process has used: user + system, or one of them. */
const cpu = (pid, which = 'both') => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const [user, sys] = [Number(f[11]) / 100, Number(f[12]) / 100];
  return which === 'user' ? user : which === 'sys' ? sys : user + sys;
};

async function main() {
  const cli = path.join(values.dist, 'cli', 'main.js');
  const prof = [
    ...(values.prof ? ['--cpu-prof', `--cpu-prof-dir=${values.prof}`] : []),
    ...values['node-flags'].split(' ').filter((f) => f !== ''),
    ...(values.gc ? ['--trace-gc'] : []),
  ];
  const gcs = { serve: { major: 0, minor: 0 }, forward: { major: 0, minor: 0 } };
  const countGc = (stream, into) =>
    createInterface({ input: stream }).on('line', (l) => {
      if (/Mark-Compact|Mark-sweep/i.test(l)) into.major += 1;
      else if (/Scavenge|Minor/i.test(l)) into.minor += 1;
    });
  const far = run([TARGET]);
  far.stdin.write('listen 0\n');
  const { port: sinkPort } = await firstLine(far, (l) => JSON.parse(l), far.stdout, 'the far end');
  const serve = run([...prof, cli, 'serve', '--listen', '127.0.0.1:0', '--no-probe'], ['ignore', values.gc ? 'pipe' : 'ignore', 'pipe']);
  if (values.gc) countGc(serve.stdout, gcs.serve);
  const url = await firstLine(serve, (l) => /serving (http:\/\/\S+)/.exec(l)?.[1], serve.stderr, 'serve');
  const fwd = run([...prof, cli, 'forward', url, '--json', '--no-config'], ['ignore', 'pipe', 'inherit']);
  const port = await firstLine(
    fwd,
    (l) => {
      const e = JSON.parse(l);
      return e.type === 'forward' && e.remote.port === sinkPort ? e.local[0].port : null;
    },
    fwd.stdout,
    'the forward',
  );
  if (values.gc) countGc(fwd.stdout, gcs.forward);
  const total = Math.round(Number(values.mib) * 1024 ** 2);
  console.log(
    `tunnel-profile: ${values.mib} MiB per run, loopback; direct = client → far end, tunnel = client → forward → serve → far end\n`,
  );
  console.log(
    '| run | direct | tunnel | ratio | CPU ms/MiB: direct (client + far end) | tunnel (client + far end / serve user + sys / forward user + sys) |',
  );
  console.log('| --- | --- | --- | --- | --- | --- |');
  // CPU seconds of the client (this process) and the far end, together.
  const ends = () => cpu(far.pid) + process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6;
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const dir of values.dir.split(',')) {
      for (const n of values.conns.split(',').map(Number)) {
        const e0 = ends();
        const d = await throughput(sinkPort, dir, n, total);
        const e1 = ends();
        const before = [serve, fwd].map((c) => [cpu(c.pid, 'user'), cpu(c.pid, 'sys')]);
        const gc0 = JSON.stringify(gcs);
        const t = await throughput(port, dir, n, total);
        const e2 = ends();
        const per = (sec) => ((sec * 1000) / (total / 1024 ** 2)).toFixed(2);
        const [sv, fw] = [serve, fwd].map((c, i) => `${per(cpu(c.pid, 'user') - before[i][0])} + ${per(cpu(c.pid, 'sys') - before[i][1])}`);
        console.log(
          `| ${dir} × ${n} | ${d.toFixed(0)} MiB/s | ${t.toFixed(0)} MiB/s | ${(t / d).toFixed(2)}× | ${per(e1 - e0)} | ${per(e2 - e1)} / ${sv} / ${fw} |`,
        );
        if (values.gc) {
          const g = JSON.parse(gc0);
          const d2 = (k) => `${gcs[k].major - g[k].major} major, ${gcs[k].minor - g[k].minor} minor`;
          console.log(`|   garbage collections | serve ${d2('serve')} | forward ${d2('forward')} | | | |`);
        }
      }
    }
  }
  const nSetups = Number(values.setups);
  if (nSetups > 0) {
    for (const [name, p] of [
      ['direct', sinkPort],
      ['tunnel', port],
    ]) {
      const xs = [];
      for (let i = 0; i < nSetups + 10; i++) xs.push(await setupOnce(p));
      xs.splice(0, 10);
      console.log(
        `setup (connect + 1 byte there and back) ${name}: p50 ${quantile(xs, 0.5).toFixed(2)} ms, p95 ${quantile(xs, 0.95).toFixed(2)} ms`,
      );
    }
  }
  const nIdle = Number(values.idle);
  if (nIdle > 0) {
    const before = { fwd: rss(fwd.pid), serve: rss(serve.pid) };
    const held = [];
    for (let i = 0; i < nIdle; i++) {
      const s = net.connect({ port, host: '127.0.0.1' });
      await new Promise((resolve, reject) => {
        s.once('connect', () => resolve(s.write('H')));
        s.once('error', reject);
      });
      held.push(s);
    }
    await new Promise((r) => setTimeout(r, 1500));
    console.log(
      `${nIdle} idle connections held: forward RSS ${before.fwd.toFixed(0)} → ${rss(fwd.pid).toFixed(0)} MB, serve ${before.serve.toFixed(0)} → ${rss(serve.pid).toFixed(0)} MB`,
    );
    for (const s of held) s.destroy();
  }
  // A clean stop, so that --cpu-prof writes its profiles.
  const exited = [fwd, serve].map((c) => new Promise((r) => c.once('exit', r)));
  fwd.kill('SIGTERM');
  serve.kill('SIGTERM');
  await Promise.race([Promise.all(exited), new Promise((r) => setTimeout(r, 10_000))]);
  far.stdin.end();
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(`bench/tunnel-profile.mjs: ${e.message}`);
    process.exit(1);
  },
);
