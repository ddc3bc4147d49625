/**
 * `portwatch kill` end to end: the built CLI, real servers, real signals.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, runCli } from '../helpers/cli.js';
import { holdSockets, stopAll, waitFor } from '../helpers/processes.js';
import { startStubborn, stopStubborn } from '../helpers/stubborn-server.js';

const others = new Set<ChildProcess>();
/** Pid 1 of a pid namespace a test made: killing unshare does not end it. */
const namespaceInits = new Set<number>();
afterEach(async () => {
  for (const pid of [...namespaceInits]) {
    namespaceInits.delete(pid);
    try {
      process.kill(pid, 'SIGKILL'); // from the parent namespace, SIGKILL reaches a namespace's init
    } catch {
      // gone already
    }
  }
  for (const child of [...others]) {
    others.delete(child);
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
  }
  await stopStubborn();
  await stopAll();
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Skips (or fails, with PORTWATCH_REQUIRE_ROOT) a test that must run as root. */
function needRoot(ctx: { skip: (note: string) => void }): void {
  if (process.getuid?.() === 0) return;
  const reason = 'needs root (setpriv to another user, unshare of a pid namespace)';
  if (process.env.PORTWATCH_REQUIRE_ROOT) throw new Error(reason);
  ctx.skip(reason);
}

describe('portwatch kill', () => {
  it('SIGKILLs a server that ignores SIGTERM once the grace period is over, and says so', async () => {
    const stubborn = await startStubborn('tcp', '::1');
    const r = await runCli(['kill', String(stubborn.port), '--grace', '500ms']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(
        `^pid ${stubborn.pid} \\(python3\\) tcp \\[::1\\]:${stubborn.port}: sent SIGTERM, still holding after 500 ms, sent SIGKILL; let go after \\d+ ms\\n$`,
      ),
    );
    expect(await stubborn.ended).toBe('SIGKILL');
  });

  it('frees several ports, UDP with --udp, saying what was done per pid and which port was free already', async () => {
    const holder = await holdSockets([
      { proto: 'udp', host: '127.0.0.1' },
      { proto: 'udp', host: '::1' },
    ]);
    const [a, b] = holder.ports as [number, number];
    const r = await runCli(['kill', `${a},${b}`, '--udp']);
    expect(r.code).toBe(0);
    const held = [
      [a, `udp 127\\.0\\.0\\.1:${a}`],
      [b, `udp \\[::1\\]:${b}`],
    ] as const;
    const where = [...held]
      .sort((x, y) => x[0] - y[0])
      .map((h) => h[1])
      .join(', '); // in the table's order: by port
    expect(r.stdout).toMatch(new RegExp(`^pid ${holder.pid} \\(python3\\) ${where}: sent SIGTERM; let go after \\d+ ms\\n$`));
    await waitFor(() => !alive(holder.pid), 'the holder to be gone');

    const again = await runCli(['kill', String(a), '--udp', '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual({ free: true, ports: [{ port: a, free: true, listeners: [] }], actions: [] });
    const text = await runCli(['kill', String(a)]);
    expect(text.stdout).toBe(`tcp port ${a}: nothing listens\n`);
  });

  it('--dry-run signals nothing', async () => {
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
    const port = holder.ports[0] as number;
    const r = await runCli(['kill', String(port), '--dry-run', '--signal', 'HUP']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`pid ${holder.pid} (python3) tcp 127.0.0.1:${port}: would be sent SIGHUP (dry run)\n`);
    const still = await runCli(['list', '--json', '--all', '--port', String(port)]);
    expect((JSON.parse(still.stdout) as { process: { pid: number } }[]).map((l) => l.process.pid)).toEqual([holder.pid]);
    expect(alive(holder.pid)).toBe(true);
  });

  it('takes ports as separate arguments too (kill 3000 5173), as wait does', async () => {
    const holder = await holdSockets([
      { proto: 'tcp', host: '127.0.0.1' },
      { proto: 'tcp', host: '127.0.0.1' },
    ]);
    const [a, b] = [...holder.ports].sort((x, y) => x - y) as [number, number];
    const r = await runCli(['kill', String(b), String(a), String(b), '--dry-run']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`pid ${holder.pid} (python3) tcp 127.0.0.1:${a}, tcp 127.0.0.1:${b}: would be sent SIGTERM (dry run)\n`);
  });

  it('--signal HUP is the first signal sent', async () => {
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
    const r = await runCli(['kill', String(holder.ports[0]), '--signal', 'sighup', '--json']);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as { actions: { pid: number; signals: string[]; outcome: string }[] };
    expect(result.actions).toMatchObject([{ pid: holder.pid, signals: ['SIGHUP'], outcome: 'stopped' }]);
  });

  it('refuses to signal its own ancestor (the process that runs portwatch) and exits 1', async () => {
    // python holds a port and runs `portwatch kill` on it as its child.
    const script = `
import socket, subprocess, sys, json
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
port = s.getsockname()[1]
r = subprocess.run([sys.argv[1], sys.argv[2], "kill", str(port), "--grace", "1s"], capture_output=True, text=True, timeout=60)
print(json.dumps({"pid": __import__("os").getpid(), "port": port, "code": r.returncode, "stdout": r.stdout, "stderr": r.stderr}), flush=True)
`;
    const child = spawn('python3', ['-c', script, process.execPath, CLI], { stdio: ['ignore', 'pipe', 'inherit'] });
    others.add(child);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise((r) => child.once('exit', r));
    const r = JSON.parse(out) as { pid: number; port: number; code: number; stdout: string; stderr: string };
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const ancestor = `it is an ancestor of this portwatch \\(pid \\d+\\); forcing \\(--force\\) signals it anyway`;
    expect(r.stderr).toMatch(
      new RegExp(
        `^portwatch: pid ${r.pid} \\(python3\\) tcp 127\\.0\\.0\\.1:${r.port}: refused: ${ancestor}\\n` +
          `portwatch: tcp port ${r.port} is still taken: 127\\.0\\.0\\.1:${r.port} pid ${r.pid} \\(python3\\)\\n$`,
      ),
    );
  });

  it('refuses a listener whose owner it cannot see (another user), exit 1, nothing signalled', async (ctx) => {
    needRoot(ctx);
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]); // root's
    const port = holder.ports[0] as number;
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, 'kill', String(port)], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `portwatch: tcp 127.0.0.1:${port}: refused: owner unknown: this user cannot see its process; run as root\n` +
        `portwatch: tcp port ${port} is still taken: 127.0.0.1:${port} (owner unknown)\n`,
    );
    expect(alive(holder.pid)).toBe(true);
  });

  it('refuses pid 1 without --force (in a pid namespace of its own)', async (ctx) => {
    needRoot(ctx);
    // python is pid 1 of a new pid namespace; portwatch runs inside it (nsenter), where its /proc names python pid 1.
    const script = `
import signal, socket, sys, time
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
print(s.getsockname()[1], flush=True)
time.sleep(120)
`;
    const unshare = spawn('unshare', ['--pid', '--fork', '--mount-proc', 'python3', '-c', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    others.add(unshare);
    let out = '';
    unshare.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const port = Number(await waitFor(() => (out.includes('\n') ? out.split('\n')[0]?.trim() : undefined), 'pid 1 to listen'));
    const python = Number(readFileSync(`/proc/${unshare.pid}/task/${unshare.pid}/children`, 'utf8').trim());
    // Only ever signal what this test made: python must be pid 1 of its own namespace.
    expect(readFileSync(`/proc/${python}/status`, 'utf8')).toMatch(new RegExp(`^NSpid:\\s+${python}\\s+1$`, 'm'));
    namespaceInits.add(python);
    const inside = (args: string[]) =>
      spawnSync('nsenter', [`--target=${python}`, '--pid', '--mount', process.execPath, CLI, 'kill', String(port), ...args], {
        encoding: 'utf8',
        timeout: 30_000,
      });
    const refused = inside([]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toBe(
      `portwatch: pid 1 (python3) tcp 127.0.0.1:${port}: refused: pid 1 (init) is not signalled unless forced (--force)\n` +
        `portwatch: tcp port ${port} is still taken: 127.0.0.1:${port} pid 1 (python3)\n`,
    );
    // --force lifts the refusal; a dry run shows it (a real one would end the namespace, portwatch inside it included).
    const forced = inside(['--force', '--dry-run']);
    expect(forced.status).toBe(0);
    expect(forced.stdout).toBe(`pid 1 (python3) tcp 127.0.0.1:${port}: would be sent SIGTERM (dry run)\n`);
    expect(alive(python)).toBe(true);
  });

  it.each([
    [['kill'], /missing required argument 'ports'/],
    [['kill', 'http'], /invalid port 'http'/],
    [['kill', '3000', '--signal', 'FOO'], /invalid signal 'FOO'/],
    [['kill', '3000', '--grace', '5'], /invalid grace '5': a number without a unit is ambiguous/],
    [['kill', '3000', '--udp', '--any'], /--udp and --any cannot be used together/],
  ])('usage error %j: one line, exit 2', async (args, message) => {
    const r = await runCli(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/^portwatch: /);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
