/**
 * The /proc seam: the real one read on a real process, and the literal table
 * (test/helpers/fake-proc.ts) held to the same answers, so logic tested on the fake is
 * tested against what /proc really says.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PROC_LIMITS, procFs, realProc, type ProcFs } from '../../src/proc/proc-fs.js';
import { fakeProc } from '../helpers/fake-proc.js';
import { waitFor } from '../helpers/processes.js';

const children: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.exitCode !== null || c.signalCode !== null) continue;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A python3 process with a known argv, environment, cwd and one listening socket on fd 3. */
async function subject(): Promise<{ pid: number; cwd: string; inode: string }> {
  const cwd = mkdtempSync(join(tmpdir(), 'pw-proc-'));
  dirs.push(cwd);
  const code = [
    'import socket, os, sys',
    's = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()',
    'os.dup2(s.fileno(), 3)',
    'print(os.fstat(3).st_ino, flush=True)',
    'sys.stdin.read()',
  ].join('\n');
  const child = spawn('python3', ['-c', code, 'arg one'], {
    cwd,
    env: { PATH: process.env.PATH, PW_MARK: 'yes' },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  children.push(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  const inode = await waitFor(() => /^(\d+)\n/.exec(out)?.[1], 'the subject to listen', 10_000);
  return { pid: child.pid!, cwd, inode };
}

/** What every ProcFs must answer about the subject. */
function expectSubject(proc: ProcFs, s: { pid: number; cwd: string; inode: string }, ppid: number): void {
  expect(proc.pids()).toContain(s.pid);
  expect(proc.stat(s.pid)).toMatchObject({ pid: s.pid, ppid, name: 'python3' });
  expect(proc.stat(s.pid)?.startTime).toMatch(/^\d+$/);
  expect(proc.comm(s.pid)).toBe('python3');
  // argv[0] is whatever PATH's python3 (maybe a shim) execs as.
  expect(proc.cmdline(s.pid)?.split('\0')).toEqual(expect.arrayContaining(['-c', 'arg one']));
  expect(proc.cmdline(s.pid)?.endsWith('\0')).toBe(true);
  expect(proc.environ(s.pid)?.toString()).toContain('PW_MARK=yes\0');
  expect(proc.uid(s.pid)).toBe(process.getuid?.());
  expect(proc.cwd(s.pid)).toBe(s.cwd);
  expect(proc.fds(s.pid)).toContain('3');
  expect(proc.fd(s.pid, '3')).toBe(`socket:[${s.inode}]`);
}

describe('the /proc seam', () => {
  it('reads a real process: stat, comm, cmdline, environ, uid, cwd, netns, fds', async () => {
    const s = await subject();
    expectSubject(realProc, s, process.pid);
    expect(realProc.netns(s.pid)).toMatch(/^\d+$/);
    expect(realProc.netns(s.pid)).toBe(realProc.netns('self'));
    expect(realProc.cgroup(s.pid)).toMatch(/^\d+:/);
  });

  it('the literal table gives the same answers for the same process', async () => {
    const s = await subject();
    const real = realProc.stat(s.pid)!;
    const fake = fakeProc({
      [s.pid]: {
        ppid: process.pid,
        startTime: real.startTime,
        name: 'python3',
        uid: process.getuid?.(),
        argv: ['python3', '-c', 'code', 'arg one'],
        env: ['PATH=/bin', 'PW_MARK=yes'],
        cwd: s.cwd,
        fds: { '0': 'pipe:[1]', '3': `socket:[${s.inode}]` },
      },
    });
    expectSubject(fake, s, process.pid);
  });

  it('a process that is gone, or a root that is not /proc, gives null everywhere, never throws', async () => {
    const gone = spawnSync('true').pid!;
    for (const proc of [realProc, procFs('/nonexistent-proc'), fakeProc({})]) {
      const pid = proc === realProc ? gone : 4242;
      expect(proc.stat(pid)).toBeNull();
      expect(proc.uid(pid)).toBeNull();
      expect(proc.comm(pid)).toBeNull();
      expect(proc.cmdline(pid)).toBeNull();
      expect(proc.environ(pid)).toBeNull();
      expect(proc.cgroup(pid)).toBeNull();
      expect(proc.cwd(pid)).toBeNull();
      expect(proc.netns(pid)).toBeNull();
      expect(proc.fds(pid)).toBeNull();
      expect(proc.fd(pid, '3')).toBeNull();
    }
    expect(procFs('/nonexistent-proc').pids()).toEqual([]);
  });

  it('reads are bounded: a command line longer than the bound costs the bound', async () => {
    const long = 'x'.repeat(100_000);
    // sh blocks reading its stdin (a pipe we never write) with the long argument in its
    // command line ($1, unused), and starts no child. (`sleep 30 <long>` exits at once on the
    // bad interval, and a zombie's cmdline is empty.)
    const child = spawn('sh', ['-c', 'read line', 'sh', long], { stdio: ['pipe', 'ignore', 'ignore'] });
    children.push(child);
    // comm changes early in execve, the argument area is set up later: wait for both.
    await waitFor(
      () => realProc.comm(child.pid!) === 'sh' && (realProc.cmdline(child.pid!)?.length ?? 0) > 0,
      'sh to exec and set up its arguments',
      5_000,
    );
    expect(realProc.cmdline(child.pid!)?.length).toBe(PROC_LIMITS.cmdline);
  });
});
