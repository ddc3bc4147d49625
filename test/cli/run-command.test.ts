import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Listener, PortEvent } from '../../src/listener.js';
import { readProcEntry, readProcTable } from '../../src/run/proc-table.js';
import { CLI, runCli } from '../helpers/cli.js';
import { holdSockets, stopAll, waitFor } from '../helpers/processes.js';
import { FAMILY, gone, grandchildren, isAlive, startRun, stopRuns, track } from '../run/run-cli.js';

const dirs: string[] = [];
afterEach(async () => {
  await stopRuns();
  await stopAll();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'portwatch-run-'));
  dirs.push(d);
  return d;
}

function readIfThere(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

const line = (sign: '+' | '-', port: number, pid: number): string => `portwatch: ${sign} tcp 127.0.0.1:${port} node (pid ${pid})`;

describe('portwatch run: the process tree, and nothing else', () => {
  it("reports the grandchild's port with the grandchild's pid; an unrelated listener opened meanwhile is not reported", async () => {
    const run = startRun(['run', '--interval', '50ms', '--', process.execPath, FAMILY, 'tree', '--on-stdin']);
    await waitFor(() => /^child \d+ started$/m.test(run.stdout()), 'the child to start');
    const unrelated = await holdSockets([]);
    const other = await unrelated.open({ proto: 'tcp', host: '127.0.0.1' }); // after the run began, before the grandchild listens
    run.child.stdin?.write('listen\n'); // through portwatch and the child to the grandchild
    const gc = await waitFor(() => grandchildren(run.stdout())[0], 'the grandchild to listen');
    await waitFor(() => run.stderr().includes(line('+', gc.port, gc.pid)), 'the + line naming the grandchild');
    expect(run.stderr()).not.toContain(`:${other.port} `);
    expect(run.stderr()).not.toContain(String(unrelated.pid));

    run.child.kill('SIGTERM'); // forwarded: the child stops the grandchild and exits 42
    expect(await run.exited).toEqual({ code: 42, signal: null });
    expect(run.stdout()).toContain('child got SIGTERM');
    expect(run.stderr().trim().split('\n')).toEqual([line('+', gc.port, gc.pid), line('-', gc.port, gc.pid)]);
  });

  it('reports the tree even when portwatch itself runs with PORTWATCH_IGNORE=1 (the tree is what was asked for)', async () => {
    const run = startRun(['run', '--interval', '50ms', '--', process.execPath, FAMILY, 'tree'], { PORTWATCH_IGNORE: '1' });
    const gc = await waitFor(() => grandchildren(run.stdout())[0], 'the grandchild to listen');
    await waitFor(() => run.stderr().includes(line('+', gc.port, gc.pid)), 'the + line');
    run.child.kill('SIGINT');
    expect((await run.exited).code).toBe(41);
  });
});

describe('portwatch run: exit status and signals pass through', () => {
  it("exits with the command's code", async () => {
    expect((await runCli(['run', '--', process.execPath, FAMILY, 'exit', '7'])).code).toBe(7);
    expect((await runCli(['run', '--', process.execPath, FAMILY, 'exit', '0'])).code).toBe(0);
    // without `--`, options after the command are the command's
    const r = await runCli(['run', 'sh', '-c', 'exit 3', '--timeout', '1s']);
    expect(r.code).toBe(3);
  });

  it('dies of the signal that killed the command', async () => {
    const r = await runCli(['run', '--', process.execPath, FAMILY, 'self-signal', 'SIGTERM']);
    expect(r).toMatchObject({ code: null, signal: 'SIGTERM' });
  });

  it.each([
    ['SIGINT', 41],
    ['SIGTERM', 42],
    ['SIGHUP', 43],
  ] as const)('forwards %s to the command', async (signal, code) => {
    const run = startRun(['run', '--interval', '50ms', '--', process.execPath, FAMILY, 'tree']);
    const gc = await waitFor(() => grandchildren(run.stdout())[0], 'the grandchild to listen');
    await waitFor(() => run.stderr().includes(line('+', gc.port, gc.pid)), 'the + line');
    run.child.kill(signal);
    expect(await run.exited).toEqual({ code, signal: null });
    expect(run.stdout()).toContain(`child got ${signal}`);
    expect(isAlive(gc.pid)).toBe(false);
  });

  it('forwards SIGWINCH and SIGQUIT too (the terminal no longer sends them to the command)', async () => {
    const run = startRun(['run', '--interval', '50ms', '--', process.execPath, FAMILY, 'tree']);
    const gc = await waitFor(() => grandchildren(run.stdout())[0], 'the grandchild to listen');
    run.child.kill('SIGWINCH');
    await waitFor(() => run.stdout().includes('child got SIGWINCH'), 'the resize to reach the command');
    run.child.kill('SIGQUIT'); // kills child and grandchild (no handler): 128 + 3, as before
    expect(await run.exited).toEqual({ code: 131, signal: null });
    expect(gone(gc.pid)).toBe(true);
  });

  it('SIGTSTP (Ctrl-Z) stops the whole tree with portwatch; SIGCONT (fg) resumes it', async () => {
    const run = startRun(['run', '--interval', '50ms', '--', process.execPath, FAMILY, 'tree']);
    const gc = await waitFor(() => grandchildren(run.stdout())[0], 'the grandchild to listen');
    const child = Number(/^child (\d+) started$/m.exec(run.stdout())?.[1]);
    const pids = [run.child.pid as number, child, gc.pid];
    const states = (): string => pids.map((p) => readProcEntry(p)?.state ?? '?').join('');
    run.child.kill('SIGTSTP');
    await waitFor(() => states() === 'TTT', 'portwatch, the child and the grandchild to be stopped');
    run.child.kill('SIGCONT');
    await waitFor(() => !states().includes('T'), 'all three to run again');
    run.child.kill('SIGTERM');
    expect(await run.exited).toEqual({ code: 42, signal: null });
  });

  it.skipIf(spawnSync('script', ['--version']).status !== 0)(
    'Ctrl-C in a real terminal reaches the command once, through portwatch (skipped without util-linux script)',
    async () => {
      const quote = (w: string): string => `'${w.replace(/'/g, `'\\''`)}'`;
      const line = ['exec', process.execPath, CLI, 'run', '--interval', '50ms', '--', process.execPath, FAMILY, 'tree']
        .map(quote)
        .join(' ');
      // script gives the command a pty as its controlling terminal; what we write is typed on it.
      const term = spawn('script', ['-qfec', line, '/dev/null'], { stdio: ['pipe', 'pipe', 'inherit'] });
      track(term.pid as number);
      let out = '';
      term.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<number | null>((resolve) => term.on('close', (code) => resolve(code)));
      const gc = await waitFor(() => grandchildren(out)[0], 'the grandchild to listen');
      for (const e of readProcTable()) if (e.ppid === term.pid) track(e.pid); // portwatch
      await waitFor(() => out.includes(`127.0.0.1:${gc.port} node (pid ${gc.pid})`), 'the + line');
      term.stdin.write('\x03');
      expect(await exited).toBe(41);
      expect(out.match(/child got SIGINT/g)).toHaveLength(1);
      expect(gone(gc.pid)).toBe(true);
      term.stdin.destroy();
    },
  );

  it('exits 127 when the command does not exist, 2 on usage errors', async () => {
    const missing = await runCli(['run', '--', 'portwatch-no-such-command']);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toBe('portwatch: portwatch-no-such-command: command not found\n');
    for (const [args, message] of [
      [['run'], /missing required argument 'command'/],
      [['run', '--timeout', '1s', '--', 'true'], /--timeout needs --ready/],
      [['run', '--ready', 'soon', '--', 'true'], /invalid --ready 'soon'/],
      [['run', '--ready-exec', "echo 'open", '--', 'true'], /a single quote is not closed/],
      [['run', '--exit-with-ready-exec', '--', 'true'], /--exit-with-ready-exec needs --ready-exec/],
      [['run', '--events', '/nonexistent-dir/x', '--', 'true'], /--events \/nonexistent-dir\/x: cannot write: ENOENT/],
      [['run', '--grace', 'soon', '--', 'true'], /invalid grace 'soon'/],
      [['run', '--trigger', 'sometimes', '--', 'true'], /unknown trigger 'sometimes': use one of auto, tracefs, poll/],
    ] as const) {
      const r = await runCli([...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});

describe('portwatch run: readiness', () => {
  it('--ready any prints one line as soon as a port listens, then --ready-exec runs with {url} and PORTWATCH_READY_PORT', async () => {
    const show = `node -e 'console.log("exec", process.argv[1], process.env.PORTWATCH_READY_PORT)' {url}`;
    const run = startRun(['run', '--interval', '50ms', '--ready', 'any', '--ready-exec', show, '--', process.execPath, FAMILY, 'tree']);
    const gc = await waitFor(() => grandchildren(run.stdout())[0], 'the grandchild to listen');
    await waitFor(() => run.stdout().includes('exec '), 'the ready command');
    expect(run.stdout()).toContain(`exec http://127.0.0.1:${gc.port}/ ${gc.port}\n`);
    expect(run.stderr()).toContain(`portwatch: ready: tcp 127.0.0.1:${gc.port} node (pid ${gc.pid})\n`);
    expect(run.stderr().indexOf('ready:')).toBeGreaterThan(run.stderr().indexOf('+ tcp')); // after the open
    run.child.kill('SIGTERM');
    expect((await run.exited).code).toBe(42);
    expect(run.stderr().match(/ready:/g)).toHaveLength(1);
  });

  it('--ready PORT waits for that port; --timeout stops the command and exits 1 with a clear message', async () => {
    const holder = await holdSockets([]);
    const { index, port } = await holder.open({ proto: 'tcp', host: '127.0.0.1' });
    await holder.close(index); // a port nobody listens on now
    const run = startRun([
      'run',
      '--interval',
      '50ms',
      '--ready',
      String(port),
      '--timeout',
      '3s', // long enough for node to start and set up its handlers on a busy machine
      '--',
      process.execPath,
      FAMILY,
      'tree',
    ]);
    expect(await run.exited).toEqual({ code: 1, signal: null });
    expect(run.stderr()).toContain(`portwatch: timed out after 3 s waiting for ${process.execPath} to listen on port ${port}\n`);
    expect(run.stdout()).toContain('child got SIGTERM');
    expect(run.stderr()).not.toContain('ready:');
  });

  it('says so when the command exits before it listened; with --exit-with-ready-exec that is a failure', async () => {
    const plain = await runCli(['run', '--ready', 'any', '--', process.execPath, FAMILY, 'exit', '0']);
    expect(plain).toMatchObject({ code: 0, stderr: `portwatch: ${process.execPath} exited before it listened on any port\n` });
    const tests = await runCli(['run', '--ready', '3000', '--ready-exec', 'true', '--exit-with-ready-exec', '--', 'sh', '-c', 'exit 0']);
    expect(tests).toMatchObject({ code: 1, stderr: 'portwatch: sh exited before it listened on port 3000\n' });
  });

  it('--exit-with-ready-exec: the ready command ends the run and gives the exit status (start-server-and-test)', async () => {
    const run = startRun([
      'run',
      '--interval',
      '50ms',
      '--ready-exec',
      `node -e 'process.exit(5)'`,
      '--exit-with-ready-exec',
      '--',
      process.execPath,
      FAMILY,
      'tree',
    ]);
    expect(await run.exited).toEqual({ code: 5, signal: null });
    expect(run.stdout()).toContain('child got SIGTERM');
    expect(run.stderr()).toContain("portwatch: --ready-exec node -e 'process.exit(5)' exited with code 5");
  });
});

describe('portwatch run: orphans, hints, events, labels', () => {
  it('names the listeners the orphaned descendants still hold when the command exits, then stops them', async () => {
    // The grandchild left the group (its own session) and lost its parent: found by the run's token.
    const run = startRun(['run', '--interval', '50ms', '--', process.execPath, FAMILY, 'orphan']);
    expect(await run.exited).toEqual({ code: 0, signal: null });
    const [gc] = grandchildren(run.stdout());
    if (!gc) throw new Error(`no grandchild in: ${run.stdout()}`);
    expect(gone(gc.pid)).toBe(true);
    expect(run.stderr()).toContain(
      `portwatch: still listening after ${process.execPath} exited: tcp 127.0.0.1:${gc.port} node (pid ${gc.pid})\n`,
    );
  });

  it('a URL in the output makes it look at once, long before the next scheduled scan', async () => {
    const run = startRun(['run', '--interval', '10m', '--', process.execPath, FAMILY, 'tree', '--url']);
    const gc = await waitFor(() => grandchildren(run.stdout())[0], 'the grandchild to listen');
    expect(run.stdout()).toContain(`ready at http://127.0.0.1:${gc.port}/`);
    await waitFor(() => run.stderr().includes(line('+', gc.port, gc.pid)), 'the + line, without waiting 10 minutes', 10_000);
    run.child.kill('SIGTERM');
    expect((await run.exited).code).toBe(42);
  });

  it("stops reading the command's output when our reader goes away, so the command sees EPIPE (as in a shell pipe)", async () => {
    const script =
      'setInterval(() => console.log("line"), 10); process.stdout.on("error", (e) => { console.error(e.code); process.exit(9); })';
    const run = startRun(['run', '--', process.execPath, '-e', script]);
    await waitFor(() => run.stdout().includes('line'), 'the first line');
    run.child.stdout?.destroy(); // like `| head -1`
    expect(await run.exited).toEqual({ code: 9, signal: null });
    expect(run.stderr()).toBe('EPIPE\n');
  });

  it('--no-hints gives the command our output as is', async () => {
    const r = await runCli(['run', '--no-hints', '--', 'sh', '-c', 'printf "out"; printf "err" >&2; exit 4']);
    expect(r).toMatchObject({ code: 4, stdout: 'out', stderr: 'err' });
  });

  it('passes output through byte for byte, including a last line without a newline', async () => {
    const bytes = 'a\u00e9\u4e2d\r\nb\x1b[1mbold\x1b[0m\nno newline at the end';
    const r = await runCli([
      'run',
      '--',
      process.execPath,
      '-e',
      `process.stdout.write(${JSON.stringify(bytes)}); process.stderr.write('E')`,
    ]);
    expect(r).toMatchObject({ code: 0, stdout: bytes, stderr: 'E' });
  });

  it('--events FILE: NDJSON open, ready, close, exit (with labels from the config); stderr stays quiet', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'portwatch.json'), JSON.stringify({ label: [{ command: 'family\\.mjs listen', label: 'grandchild' }] }));
    const events = join(dir, 'events.ndjson');
    const run = startRun(
      ['run', '--interval', '50ms', '--ready', 'any', '--events', events, '--', process.execPath, FAMILY, 'tree'],
      {},
      dir,
    );
    const gc = await waitFor(() => grandchildren(run.stdout())[0], 'the grandchild to listen');
    await waitFor(() => readIfThere(events).includes('"ready"'), 'the ready event');
    run.child.kill('SIGHUP');
    expect((await run.exited).code).toBe(43);
    expect(run.stderr()).toBe('');
    const lines = readFileSync(events, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; listener?: Listener & { label: string | null }; listeners?: Listener[]; code?: number });
    expect(lines.map((e) => e.type)).toEqual(['open', 'ready', 'close', 'exit']);
    const open = lines[0] as PortEvent & { listener: { label: string | null } };
    expect(open.listener).toMatchObject({ port: gc.port, address: '127.0.0.1', process: { pid: gc.pid }, label: 'grandchild' });
    expect(lines[1]?.listeners?.map((l) => l.port)).toEqual([gc.port]);
    expect(lines[3]).toMatchObject({ type: 'exit', code: 43, signal: null });
  });

  it("--events -: stdout carries only NDJSON; the command's stdout goes to stderr", async () => {
    const run = startRun(['run', '--interval', '50ms', '--ready', 'any', '--events', '-', '--', process.execPath, FAMILY, 'tree']);
    const gc = await waitFor(() => grandchildren(run.stderr())[0], 'the grandchild to listen');
    await waitFor(() => run.stdout().includes('"ready"'), 'the ready event');
    run.child.kill('SIGTERM');
    expect((await run.exited).code).toBe(42);
    const types = run
      .stdout()
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { type: string }).type);
    expect(types).toEqual(['open', 'ready', 'close', 'exit']);
    expect(run.stderr()).toMatch(/^child \d+ started$/m);
    expect(run.stderr()).toContain(`gc ${gc.pid} ${gc.port}`);
  });

  it('config ignore rules apply to the tree; --all reports everything', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'portwatch.json'), JSON.stringify({ ignore: [{ command: 'family\\.mjs listen' }] }));
    const quiet = startRun(['run', '--interval', '50ms', '--', process.execPath, FAMILY, 'orphan'], {}, dir);
    expect((await quiet.exited).code).toBe(0);
    for (const gc of grandchildren(quiet.stdout())) track(gc.pid);
    expect(quiet.stderr()).toBe('');
    const all = startRun(['run', '--all', '--interval', '50ms', '--', process.execPath, FAMILY, 'orphan'], {}, dir);
    expect((await all.exited).code).toBe(0);
    const [gc] = grandchildren(all.stdout());
    if (!gc) throw new Error(`no grandchild in: ${all.stdout()}`);
    expect(all.stderr()).toContain(`still listening after ${process.execPath} exited: tcp 127.0.0.1:${gc.port} node (pid ${gc.pid})`);
  });
});
