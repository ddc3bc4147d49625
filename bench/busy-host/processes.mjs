/**
 * Every process bench/busy-host.mjs starts, tracked by pid and stopped at the end, on an error
 * and on SIGINT; the busy host itself; and the driver that opens and closes listeners.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, createReadStream, createWriteStream, existsSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { sleep } from './measure.mjs';

const HERE = new URL('.', import.meta.url).pathname;
export const CLI = new URL('../../dist/cli/main.js', import.meta.url).pathname;
export const DRIVER_PY = join(HERE, 'driver.py');
/** A python3 every user can run (a pyenv shim under /root is not one). */
export const PYTHON =
  ['/usr/bin/python3', '/usr/local/bin/python3'].find((p) => existsSync(p)) ??
  execFileSync('python3', ['-c', 'import os, sys; print(os.path.realpath(sys.executable))'], { encoding: 'utf8' }).trim();
const started = new Set();
const dirs = [];

/** The argv prefix for a run as root or, with `unprivileged`, as nobody (uid/gid 65534). */
export function asUser(unprivileged, argv) {
  return unprivileged ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', ...argv] : argv;
}

export function track(child) {
  started.add(child);
  child.once('exit', () => started.delete(child));
  return child;
}

export function start(argv, options = {}) {
  return track(spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], ...options }));
}

/** SIGINT (portwatch's clean exit: the tracefs instance is removed), then SIGKILL after 5 s. */
export async function stop(child, signal = 'SIGINT') {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  process.kill(child.pid, signal);
  const killed = await Promise.race([exited.then(() => false), sleep(5000).then(() => true)]);
  if (killed && child.exitCode === null && child.signalCode === null) {
    process.kill(child.pid, 'SIGKILL');
    await exited;
  }
}

export async function stopAll() {
  await Promise.all([...started].map((c) => stop(c).catch(() => {})));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** 100k fds in processes of 2,000, `idle` sleeping processes, one listener nobody owns. */
export async function startBusyHost(fds, idle) {
  const child = track(spawn(PYTHON, [join(HERE, 'load.py'), String(fds), String(idle)], { stdio: ['pipe', 'pipe', 'inherit'] }));
  const line = await Promise.race([
    new Promise((resolve) => createInterface({ input: child.stdout }).once('line', resolve)),
    new Promise((_, reject) => child.once('exit', (code) => reject(new Error(`busy host exited with ${code}`)))),
  ]);
  const [, port, processes] = String(line).split(' ');
  return { pid: child.pid, unownedPort: Number(port), processes: Number(processes), stop: () => stop(child, 'SIGTERM') };
}

/** Two FIFOs for a driver, in a directory anyone may use (the unprivileged driver too). */
export function driverFifos() {
  const dir = mkdtempSync(join(tmpdir(), 'portwatch-busy-'));
  dirs.push(dir);
  chmodSync(dir, 0o777);
  const fifos = [join(dir, 'commands'), join(dir, 'replies')];
  for (const f of fifos) {
    const r = spawnSync('mkfifo', ['-m', '0666', f]);
    if (r.status !== 0) throw new Error(`mkfifo ${f}: ${r.stderr}`);
  }
  return fifos;
}

/**
 * The benchmark's end of a driver (driver.py), which may be our child or COMMAND of
 * `portwatch run`: commands in one FIFO, one reply line each in the other, in order.
 */
export class Driver {
  /** `owner`: the process whose end means the driver's end (the driver, or `portwatch run`). */
  constructor([commands, replies], owner) {
    this.out = createWriteStream(commands);
    this.dir = dirname(commands);
    this.waiting = [];
    const input = createReadStream(replies);
    createInterface({ input }).on('line', (l) => this.waiting.shift()?.(l.split(' ')));
    // The driver is gone (it wrote its last reply): nothing waiting will be answered.
    const gone = () => this.waiting.splice(0).forEach((w) => w(null));
    input.on('close', gone);
    owner.once('exit', () => {
      this.dead = true;
      gone();
      // A driver that died before opening its FIFOs leaves our opens blocked in the libuv
      // threadpool: an open for reading and writing never blocks, and releases them.
      for (const f of [commands, replies]) closeSync(openSync(f, 'r+'));
    });
  }
  static spawn(unprivileged) {
    const fifos = driverFifos();
    const child = start(asUser(unprivileged, [PYTHON, DRIVER_PY, ...fifos]), { stdio: ['ignore', 'ignore', 'inherit'] });
    return new Driver(fifos, child);
  }
  ask(line, timeoutMs = 60_000) {
    if (this.dead) return Promise.reject(new Error(`the driver has ended: cannot '${line}'`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`driver did not answer '${line}'`)), timeoutMs);
      this.waiting.push((words) => {
        clearTimeout(timer);
        if (words === null) reject(new Error(`the driver ended before answering '${line}'`));
        else resolve(words);
      });
      this.out.write(`${line}\n`);
    });
  }
  async open(port) {
    const [, id, p, inode, t] = await this.ask(port === undefined ? 'open' : `openport ${port}`);
    return { id, port: Number(p), inode: Number(inode), tOpen: BigInt(t) };
  }
  async close(id) {
    const [, , t] = await this.ask(`close ${id}`);
    return BigInt(t);
  }
  async free() {
    return Number((await this.ask('free'))[1]);
  }
  /** `count` listeners, one every `gapMs`, each living `lifeMs`; their ports, inodes and times. */
  async batch(count, gapMs, lifeMs) {
    const file = join(this.dir, `batch-${Date.now()}`);
    await this.ask(`batch ${count} ${gapMs} ${lifeMs} ${file}`, 60_000 + count * gapMs + lifeMs);
    const { readFileSync } = await import('node:fs');
    return readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [port, inode, tOpen, tClose] = l.split(' ');
        return { port: Number(port), inode: Number(inode), tOpen: BigInt(tOpen), tClose: BigInt(tClose) };
      });
  }
  end() {
    this.out.end();
  }
}
