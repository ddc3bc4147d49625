/**
 * A real process whose name and command line hold terminal escapes, carriage returns,
 * newlines and bidi overrides, seen through the real CLI: escaped in tables and event
 * lines, exact in JSON.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Listener, PortEvent } from '../../src/listener.js';
import { runCli, startCli, type LiveCli } from '../helpers/cli.js';
import {
  HOSTILE_ARG as ARG,
  HOSTILE_ARG_SHOWN as ARG_SHOWN,
  HOSTILE_NAME as NAME,
  HOSTILE_NAME_SHOWN as NAME_SHOWN,
  HOSTILE_PY,
  RAW_CONTROL,
  startHostile,
  stopHostiles,
} from '../helpers/hostile-process.js';
import { waitFor } from '../helpers/processes.js';

const clis: LiveCli[] = [];
/** Processes started by a command under test (run's child), stopped by pid if still there. */
const strays: number[] = [];
afterEach(async () => {
  for (const { child, exited } of clis.splice(0)) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    process.kill(child.pid as number, 'SIGKILL');
    await exited;
  }
  for (const pid of strays.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await stopHostiles();
});

/** Lines of human output, each checked for raw control characters (the line breaks are portwatch's own). */
function humanLines(text: string): string[] {
  const lines = text.replace(/\n$/, '').split('\n');
  for (const l of lines) expect(l).not.toMatch(RAW_CONTROL);
  return lines;
}

describe('control characters from other processes', () => {
  it('list: one escaped row per listener; --json keeps the exact text', async () => {
    const evil = await startHostile();
    const table = await runCli(['list', '--pid', String(evil.pid)], { env: { NO_COLOR: '1' } });
    expect(table.code).toBe(0);
    const lines = humanLines(table.stdout);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(new RegExp(`^tcp\\s+127\\.0\\.0\\.1:${evil.port}\\s+${evil.pid}\\s+`));
    expect(lines[1]).toContain(` ${NAME_SHOWN} `);
    expect(lines[1]?.endsWith(` ${ARG_SHOWN}`)).toBe(true);

    const json = await runCli(['list', '--pid', String(evil.pid), '--json']);
    const [l] = JSON.parse(json.stdout) as Listener[];
    expect(l?.process?.name).toBe(NAME);
    expect(l?.process?.command.endsWith(` ${NAME} ${ARG}`)).toBe(true);
  });

  it('watch: the table and the + line escaped; --json keeps the exact text', async () => {
    const evil = await startHostile();
    const w = startCli(['watch', '--interval', '50ms', '--pid', String(evil.pid)], { NO_COLOR: '1' });
    const j = startCli(['watch', '--json', '--interval', '50ms', '--pid', String(evil.pid)]);
    clis.push(w, j);
    await waitFor(() => w.stderr().includes('watching') && j.stderr().includes('watching'), 'both watchers to be ready');
    const port = await evil.open();
    await waitFor(() => w.stdout().includes(`:${port} `) && j.stdout().includes(`,"port":${port},`), 'the + lines');
    w.child.kill('SIGTERM');
    j.child.kill('SIGTERM');
    expect(await w.exited).toEqual({ code: 0, signal: null });
    expect(await j.exited).toEqual({ code: 0, signal: null });

    const lines = humanLines(w.stdout());
    expect(lines).toHaveLength(3); // header, the first listener, the + line
    expect(lines[1]?.endsWith(` ${ARG_SHOWN}`)).toBe(true);
    expect(lines[2]).toMatch(new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{3} \\+ tcp {2}127\\.0\\.0\\.1:${port}\\s+${evil.pid} `));
    expect(lines[2]?.endsWith(` ${evil.pid} ${NAME_SHOWN}`)).toBe(true);

    const [event] = j
      .stdout()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as PortEvent);
    expect(event?.listener.process?.name).toBe(NAME);
    expect(event?.listener.process?.command.endsWith(` ${NAME} ${ARG}`)).toBe(true);
  });

  it('run: the + line on stderr names the process escaped', async () => {
    const run = startCli(['run', '--interval', '50ms', '--', 'python3', '-c', HOSTILE_PY, NAME, ARG], {}, { stdin: 'pipe' });
    clis.push(run);
    const [, pid, port] = (await waitFor(() => /^(\d+) (\d+)$/m.exec(run.stdout()), 'the child to listen')).map(Number);
    strays.push(pid as number);
    await waitFor(() => run.stderr().includes(`:${port} `), 'the + line');
    run.child.kill('SIGTERM'); // forwarded to the child, which exits 0
    expect((await run.exited).code).toBe(0);
    const lines = humanLines(run.stderr());
    expect(lines[0]).toBe(`portwatch: + tcp 127.0.0.1:${port} ${NAME_SHOWN} (pid ${pid})`);
  });
});
