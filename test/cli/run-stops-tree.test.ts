/**
 * `portwatch run` stops what it started: a real `npm run` → sh → node tree, where npm and
 * sh pass no signal on, leaves no server behind and its port free — after --timeout,
 * --exit-with-ready-exec, and SIGINT, SIGTERM or SIGHUP sent to portwatch.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/processes.js';
import { FAMILY, gone, grandchildren, startRun, stopRuns, track } from '../run/run-cli.js';
import { unusedPort } from '../helpers/sockets.js';

const npmMissing = spawnSync('npm', ['--version'], { encoding: 'utf8' }).status !== 0;

const dirs: string[] = [];
afterEach(async () => {
  await stopRuns(); // portwatch, then every server pid a test tracked, by pid
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

// Writes "PID PORT" once it listens; `--port N` or any free port; `--ignore-term` logs SIGTERM and goes on.
const SERVER = `
const fs = require('node:fs');
const net = require('node:net');
const at = process.argv.indexOf('--port');
const server = net.createServer().listen(at > 0 ? Number(process.argv[at + 1]) : 0, '127.0.0.1', () => {
  fs.writeFileSync('server.pid.tmp', process.pid + ' ' + server.address().port);
  fs.renameSync('server.pid.tmp', 'server.pid');
});
if (process.argv.includes('--ignore-term')) process.on('SIGTERM', () => fs.appendFileSync('server.log', 'ignored SIGTERM\\n'));
setTimeout(() => process.exit(0), 60_000);
`;

function npmProject(): string {
  const dir = mkdtempSync(join(tmpdir(), 'portwatch-run-npm-'));
  dirs.push(dir);
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'portwatch-run-test', private: true, scripts: { serve: 'node server.js' } }),
  );
  writeFileSync(join(dir, 'server.js'), SERVER);
  return dir;
}

/** The server's pid (tracked, to be killed by pid whatever happens) and port, once it listens. */
function server(dir: string): { pid: number; port: number } | null {
  const file = join(dir, 'server.pid');
  if (!existsSync(file)) return null;
  const [pid, port] = readFileSync(file, 'utf8').split(' ').map(Number) as [number, number];
  return { pid: track(pid), port };
}

/** Can we listen on this port now? (Nobody holds it.) */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

const env = { NO_UPDATE_NOTIFIER: '1', npm_config_update_notifier: 'false' };

describe.skipIf(npmMissing)(`portwatch run stops the whole tree npm started${npmMissing ? ' (skipped: npm is not installed)' : ''}`, () => {
  it('--exit-with-ready-exec (the command from the issue): once portwatch has exited, the server is gone and the port free', async () => {
    const dir = npmProject();
    const port = await unusedPort();
    const run = startRun(
      [
        'run',
        '--interval',
        '50ms',
        '--ready',
        String(port),
        '--ready-exec',
        'true',
        '--exit-with-ready-exec',
        '--',
        'npm',
        'run',
        'serve',
        '--',
        '--port',
        String(port),
      ],
      env,
      dir,
    );
    expect(await run.exited).toEqual({ code: 0, signal: null });
    const s = server(dir);
    if (s === null) throw new Error(`the server never started: ${run.stderr()}`);
    expect(s.port).toBe(port);
    expect(gone(s.pid)).toBe(true);
    expect(await portFree(port)).toBe(true);
    expect(run.stderr()).not.toContain('still running');
  });

  it('--timeout: the tree is stopped and portwatch exits 1', async () => {
    const dir = npmProject();
    const never = await unusedPort();
    const run = startRun(
      ['run', '--interval', '50ms', '--ready', String(never), '--timeout', '12s', '--', 'npm', 'run', 'serve'],
      env,
      dir,
    );
    const s = await waitFor(() => server(dir), 'the server to listen', 12_000);
    expect(await run.exited).toEqual({ code: 1, signal: null });
    expect(run.stderr()).toContain('portwatch: timed out after 12 s waiting for npm to listen on port');
    expect(gone(s.pid)).toBe(true);
    expect(await portFree(s.port)).toBe(true);
  });

  it.each(['SIGINT', 'SIGTERM', 'SIGHUP'] as const)(
    '%s to portwatch: the server is gone, the port free, and portwatch dies of it as npm did',
    async (signal) => {
      const dir = npmProject();
      const run = startRun(['run', '--interval', '50ms', '--', 'npm', 'run', 'serve'], env, dir);
      const s = await waitFor(() => server(dir), 'the server to listen', 20_000);
      await waitFor(() => run.stderr().includes(`127.0.0.1:${s.port} node (pid ${s.pid})`), 'the + line');
      run.child.kill(signal);
      expect(await run.exited).toEqual({ code: null, signal });
      expect(gone(s.pid)).toBe(true);
      expect(await portFree(s.port)).toBe(true);
    },
  );

  it('a server that ignores SIGTERM is SIGKILLed after --grace', async () => {
    const dir = npmProject();
    const events = join(dir, 'events.ndjson');
    const run = startRun(
      [
        'run',
        '--interval',
        '50ms',
        '--grace',
        '1s',
        '--events',
        events,
        '--ready-exec',
        'true',
        '--exit-with-ready-exec',
        '--',
        'npm',
        'run',
        'serve',
        '--',
        '--ignore-term',
      ],
      env,
      dir,
    );
    expect(await run.exited).toEqual({ code: 0, signal: null });
    const s = server(dir);
    if (s === null) throw new Error(`the server never started: ${run.stderr()}`);
    expect(readFileSync(join(dir, 'server.log'), 'utf8')).toBe('ignored SIGTERM\n');
    expect(gone(s.pid)).toBe(true);
    expect(await portFree(s.port)).toBe(true);
    const timeOf = (type: string): number => {
      const line = readFileSync(events, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { type: string; time: string })
        .find((e) => e.type === type);
      return Date.parse(line?.time ?? 'none');
    };
    // The stop began when the ready command ended; SIGKILL only after the grace period.
    expect(timeOf('exit') - timeOf('ready-exec')).toBeGreaterThanOrEqual(1_000);
    expect(run.stderr()).not.toContain('still running');
  });
});

describe('portwatch run: a second signal while it stops the tree', () => {
  it('cuts the grace period short: what is left is SIGKILLed at once', async () => {
    // The grandchild left the group (so the forwarded SIGTERM misses it) and ignores SIGTERM.
    const run = startRun(['run', '--interval', '50ms', '--grace', '60s', '--', process.execPath, FAMILY, 'escape', '--ignore-term']);
    const gc = await waitFor(() => grandchildren(run.stdout())[0], 'the grandchild to listen');
    await waitFor(() => run.stderr().includes(`127.0.0.1:${gc.port} node (pid ${gc.pid})`), 'the + line');
    run.child.kill('SIGTERM'); // the command dies of it; then portwatch stops the rest: SIGTERM, a 60 s grace…
    await waitFor(() => run.stderr().includes('gc ignored SIGTERM'), 'the stop to begin');
    const stopping = Date.now();
    run.child.kill('SIGINT'); // … cut short
    expect(await run.exited).toEqual({ code: null, signal: 'SIGTERM' });
    expect(Date.now() - stopping).toBeLessThan(20_000);
    expect(gone(gc.pid)).toBe(true);
  });
});
