/**
 * exitNow(): `wait` ends the moment its answer is written, with _exit(2) from the addon instead
 * of Node's orderly teardown. What was written is all there, the status is what process.exit()
 * would give, and without the addon it is process.exit() (exit handlers run).
 */
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { orphansCollected } from '../../src/cli/exit-now.js';
import { sockDiagUnavailableReason } from '../../src/sources/sock-diag-addon.js';
import { fakeProc } from '../helpers/fake-proc.js';

const EXIT_NOW = fileURLToPath(new URL('../../dist/cli/exit-now.js', import.meta.url));
const why = sockDiagUnavailableReason();
if (why !== null && process.env.PORTWATCH_REQUIRE_NATIVE === '1') throw new Error(`exitNow tests cannot run: ${why}`);

/** A process that writes `bytes` to stdout (a pipe), then calls exitNow() from the write's callback. */
function writeThenExit(
  bytes: number,
  exitCode: number | null,
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; out: number; err: string }> {
  const script = `
    import { exitNow } from ${JSON.stringify(EXIT_NOW)};
    import { writeSync } from 'node:fs';
    process.on('exit', () => writeSync(2, 'exit handler ran'));
    ${exitCode === null ? '' : `process.exitCode = ${exitCode};`}
    process.stdout.write(Buffer.alloc(${bytes}, 97), () => exitNow());
    setTimeout(() => {}, 10_000); // exitNow, not an empty loop, ends it
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = 0;
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.length));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, out, err })));
}

describe('exitNow', () => {
  it.skipIf(why !== null).each(['1', '0'])(
    'ends at once with status 0 after a write of 4 MiB, every byte delivered, no exit handler run (PORTWATCH_EXIT_HANDOFF=%s)',
    async (handOff) => {
      const r = await writeThenExit(4 << 20, null, { PORTWATCH_EXIT_HANDOFF: handOff });
      expect(r).toEqual({ code: 0, out: 4 << 20, err: '' });
    },
  );

  it.skipIf(why !== null)('keeps the status a command set (process.exitCode)', async () => {
    expect((await writeThenExit(10, 3)).code).toBe(3);
  });

  it.skipIf(why !== null).each([
    ['1', 'hands its memory to a child that frees it once the process is gone, and that child ends by itself', 1],
    ['0', 'makes no such child when told not to', 0],
  ])('PORTWATCH_EXIT_HANDOFF=%s: %s', (handOff, _what, holders) => {
    // A subreaper (python) gets the orphaned holder, as pid 1 would; it reads the process's
    // stdout to its end, reaps it, then every other child it inherits, under an alarm.
    const script = `
        import { exitNow } from ${JSON.stringify(EXIT_NOW)};
        process.exitCode = 5;
        process.stdout.write(Buffer.alloc(1 << 20, 97), () => exitNow());
        setTimeout(() => {}, 10_000);
      `;
    const reaper = `
import ctypes, json, os, signal, subprocess, sys
if ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) != 0:  # PR_SET_CHILD_SUBREAPER
    sys.exit('prctl(PR_SET_CHILD_SUBREAPER) failed: errno %d' % ctypes.get_errno())
signal.alarm(20)
p = subprocess.Popen([sys.argv[1], '--input-type=module', '-e', sys.argv[2]], stdout=subprocess.PIPE)
n = len(p.stdout.read())
code = p.wait()
others = []
while True:
    try:
        pid, status = os.waitpid(-1, 0)
    except ChildProcessError:
        break
    others.append({'pid': pid != p.pid, 'exited': os.WIFEXITED(status), 'status': os.waitstatus_to_exitcode(status)})
print(json.dumps({'code': code, 'bytes': n, 'others': others}))
`;
    const r = spawnSync('python3', ['-c', reaper, process.execPath, script], {
      encoding: 'utf8',
      timeout: 30_000,
      env: { ...process.env, PORTWATCH_EXIT_HANDOFF: handOff },
    });
    expect(r.stderr).toBe('');
    const holder = { pid: true, exited: true, status: 0 };
    expect(JSON.parse(r.stdout)).toEqual({ code: 5, bytes: 1 << 20, others: Array(holders).fill(holder) });
  });

  it('without the addon is process.exit(): same bytes and status, exit handlers run', async () => {
    const r = await writeThenExit(1 << 20, 4, { PORTWATCH_NO_NATIVE: '1' });
    expect(r).toEqual({ code: 4, out: 1 << 20, err: 'exit handler ran' });
  });

  it.skipIf(why !== null)(
    'the addon refuses a status that is not a whole number 0-255, and a hand-off flag that is not a boolean (in a child: a bad check would end this worker)',
    async () => {
      const addon = fileURLToPath(new URL('../../native/build/Release/portwatch_sockdiag.node', import.meta.url));
      const script = `
      const { exitNow } = require(${JSON.stringify(addon)});
      const refused = ['0', -1, 256, 1.5, NaN, Infinity, undefined, null].map((bad) => {
        try { exitNow(bad); return 'accepted ' + String(bad); } catch (e) { return /exit status, a whole number 0-255/.test(e.message) ? 'refused' : e.message; }
      });
      try { exitNow(0, 'yes'); refused.push('accepted a second argument that is not a boolean'); } catch (e) { refused.push(/a boolean/.test(e.message) ? 'refused' : e.message); }
      process.stdout.write(JSON.stringify(refused));
      exitNow(0);
    `;
      const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const code = await new Promise((resolve) => child.on('close', resolve));
      expect({ code, answers: JSON.parse(out) as string[] }).toEqual({ code: 0, answers: Array(9).fill('refused') });
    },
  );
});

describe('orphansCollected: whether the hand-off is made', () => {
  const SIGCHLD = 1n << 16n; // signal 17, bit 16
  const init = (signals: { blocked?: bigint; ignored?: bigint; caught?: bigint }) =>
    fakeProc({ 1: { ppid: 0, startTime: '1', signals: { blocked: 0n, ignored: 0n, caught: 0n, ...signals } } });

  it.each([
    ['catches SIGCHLD (dumb-init, a shell)', { caught: SIGCHLD | 1n }, true],
    ['ignores it (the kernel then reaps)', { ignored: SIGCHLD }, true],
    ['blocks it to read it through signalfd or sigwait (systemd, tini)', { blocked: SIGCHLD }, true],
    ['does neither (an application: node app.js, sleep infinity)', { caught: 1n << 14n, ignored: 1n << 12n }, false],
  ])('pid 1 %s: %s', (_what, signals, expected) => {
    expect(orphansCollected({}, init(signals))).toBe(expected);
  });

  it('no: when pid 1 cannot be read', () => {
    expect(orphansCollected({}, fakeProc({}))).toBe(false);
  });

  it('PORTWATCH_EXIT_HANDOFF=1 and =0 decide over pid 1; anything else leaves it to pid 1', () => {
    expect(orphansCollected({ PORTWATCH_EXIT_HANDOFF: '1' }, fakeProc({}))).toBe(true);
    expect(orphansCollected({ PORTWATCH_EXIT_HANDOFF: '0' }, init({ blocked: SIGCHLD }))).toBe(false);
    expect(orphansCollected({ PORTWATCH_EXIT_HANDOFF: 'yes' }, init({ blocked: SIGCHLD }))).toBe(true);
  });
});
