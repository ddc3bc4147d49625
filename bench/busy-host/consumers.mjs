/**
 * The consumers a user meets, each started as a user would start it, each feeding the open
 * and close events it reports (port, inode when it says, time seen) into a Sink.
 */
import { request } from 'node:http';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { nowNs, sleep } from './measure.mjs';
import { CLI, DRIVER_PY, PYTHON, Driver, asUser, driverFifos, start, stop, track } from './processes.mjs';

export class Sink {
  constructor() {
    this.events = [];
    this.waiters = new Set();
  }
  /** owner: the pid the event names, null when it names none, undefined when the consumer does not say. */
  push(type, port, inode = null, owner = undefined) {
    const e = { type, port, inode, owner, t: nowNs() };
    this.events.push(e);
    for (const w of this.waiters) w(e);
  }
  /** When `type` for `port` was first seen at or after `afterNs`; null after `timeoutMs`. */
  seen(type, port, afterNs, timeoutMs) {
    const match = (e) => e.type === type && e.port === port && e.t >= afterNs;
    const already = this.events.find(match);
    if (already) return Promise.resolve(already.t);
    return new Promise((resolve) => {
      const w = (e) => match(e) && done(e.t);
      const timer = setTimeout(() => done(null), timeoutMs);
      const done = (t) => {
        clearTimeout(timer);
        this.waiters.delete(w);
        resolve(t);
      };
      this.waiters.add(w);
    });
  }
}

const node = process.execPath;
const cliArgv = (mode, args) => asUser(mode.unprivileged, [node, CLI, ...args, '--trigger', mode.trigger]);

function lines(stream, fn) {
  createInterface({ input: stream }).on('line', fn);
}

function freeLocalPort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function watchJson(mode) {
  const sink = new Sink();
  const child = start(cliArgv(mode, ['watch', '--json']));
  lines(child.stdout, (l) => {
    const e = JSON.parse(l);
    if (e.type === 'open' || e.type === 'close' || e.type === 'update')
      sink.push(e.type, e.listener.port, e.listener.inode, e.listener.process?.pid ?? null);
  });
  child.stderr.resume();
  return { pid: child.pid, sink, driver: Driver.spawn(mode.unprivileged), stop: () => stop(child) };
}

async function serveSse(mode) {
  const sink = new Sink();
  const port = await freeLocalPort();
  const child = start(cliArgv(mode, ['serve', '--listen', `127.0.0.1:${port}`]));
  child.stdout.resume();
  await new Promise((resolve, reject) => {
    lines(child.stderr, (l) => l.includes('serving') && resolve());
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}`)));
  });
  const req = request({ host: '127.0.0.1', port, path: '/api/events', headers: { accept: 'text/event-stream' }, agent: false }, (res) => {
    if (res.statusCode !== 200) throw new Error(`GET /api/events: ${res.statusCode}`);
    let buffer = '';
    res.setEncoding('utf8');
    res.on('data', (text) => {
      buffer += text;
      for (let end; (end = buffer.indexOf('\n\n')) >= 0;) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block
          .split('\n')
          .filter((l) => l.startsWith('data: '))
          .map((l) => l.slice(6))
          .join('\n');
        if (!data) continue;
        let e;
        try {
          e = JSON.parse(data);
        } catch {
          continue;
        }
        if ((e.type === 'open' || e.type === 'close') && e.listener)
          sink.push(e.type, e.listener.port, e.listener.inode, e.listener.process?.pid ?? null);
        else if (e.port !== undefined && e.inode !== undefined && 'process' in e)
          sink.push('update', e.port, e.inode, e.process?.pid ?? null); // event: update (a ListenerView)
      }
    });
  });
  req.on('error', () => {});
  req.end();
  return {
    pid: child.pid,
    sink,
    driver: Driver.spawn(mode.unprivileged),
    stop: async () => {
      req.destroy();
      await stop(child);
    },
  };
}

async function mcpEvents(mode) {
  const sink = new Sink();
  const [command, ...args] = cliArgv(mode, ['mcp']);
  const transport = new StdioClientTransport({ command, args, stderr: 'ignore' });
  const client = new Client({ name: 'portwatch-busy-host-bench', version: '1.0.0' });
  await client.connect(transport);
  const pid = transport.pid;
  let stopped = false;
  // A model's loop: long-poll get_port_events with the cursor it was given.
  const loop = (async () => {
    let since;
    while (!stopped) {
      const r = await client.callTool({ name: 'get_port_events', arguments: { ...(since ? { since } : {}), wait_ms: 5000 } }, undefined, {
        timeout: 30_000,
      });
      if (r.isError) throw new Error(`get_port_events: ${JSON.stringify(r.content)}`);
      for (const e of r.structuredContent.events) sink.push(e.type, e.listener.port, e.listener.inode ?? null);
      since = r.structuredContent.cursor;
    }
  })().catch((e) => {
    if (!stopped) console.error(`mcp loop: ${e.message}`);
  });
  return {
    pid,
    sink,
    driver: Driver.spawn(mode.unprivileged),
    stop: async () => {
      stopped = true;
      await client.close();
      await Promise.race([loop, sleep(2000)]);
    },
  };
}

async function runStderr(mode) {
  const sink = new Sink();
  const fifos = driverFifos();
  const child = start(cliArgv(mode, ['run']).concat(['--', PYTHON, DRIVER_PY, ...fifos]));
  child.stdout.resume();
  lines(child.stderr, (l) => {
    const m = /^portwatch: ([+-]) \S+ \S*:(\d+) /.exec(l);
    if (m) sink.push(m[1] === '+' ? 'open' : 'close', Number(m[2]));
  });
  return { pid: child.pid, sink, driver: new Driver(fifos, child), stop: () => stop(child) };
}

export const CONSUMERS = {
  'watch --json': watchJson,
  'serve SSE': serveSse,
  'mcp get_port_events': mcpEvents,
  run: runStderr,
};

/**
 * Every `wait` started, in order, per mode: when its answer was read from its stdout and when
 * it exited (ns, the driver's clock), and its exit code. The report takes "listen→answer" from
 * it: `exited` gives the bench the time to exit only.
 */
export const waitLog = [];

/**
 * `portwatch wait PORT` as a child, its answer read from a pipe as a script's next command
 * would; resolves (once its stdout is closed too) with its exit code and the time it exited.
 */
export function startWait(mode, port, timeoutS = 30) {
  const child = track(start(cliArgv(mode, ['wait', String(port), '--timeout', `${timeoutS}s`]), { stdio: ['ignore', 'pipe', 'pipe'] }));
  const entry = { mode: mode.name, tAnswer: null, tExit: null, code: null };
  waitLog.push(entry);
  child.stdout.once('data', () => (entry.tAnswer ??= nowNs()));
  child.stdout.resume();
  child.stderr.resume();
  child.once('exit', (code) => {
    entry.tExit = nowNs();
    entry.code = code;
  });
  const exited = new Promise((resolve) => child.once('close', () => resolve({ code: entry.code, t: entry.tExit })));
  return { pid: child.pid, exited, stop: () => stop(child) };
}
