/**
 * A private Docker engine for tests: its own dockerd (socket, --data-root, --exec-root and
 * config under one temp directory; no bridge, no iptables), an image built locally from the
 * static busybox with `docker import` (nothing is pulled), containers run with
 * `--network none`, and a teardown that leaves nothing: containers removed, dockerd and the
 * containerd it started stopped by pid (SIGTERM, then SIGKILL at a deadline), mounts
 * detached, the directory removed.
 *
 * Needs root, dockerd + docker (Debian: docker.io) and a static busybox (busybox-static).
 * Without them tests skip with the reason, unless PORTWATCH_REQUIRE_DOCKER=1 (CI): then they fail.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import {
  accessSync,
  chmodSync,
  closeSync,
  constants,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { mountsUnder, killChildren, pidAlive, processesMentioning, terminate, unmountUnder } from './docker-cleanup.js';

const run = promisify(execFile);
export const TEST_IMAGE = 'portwatch-test/busybox:1';
const BUSYBOX_APPLETS = ['sh', 'httpd', 'nc', 'sleep', 'cat', 'echo', 'ls', 'true', 'kill'];

function findExecutable(name: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const dir of dirs.filter((d) => d.startsWith('/'))) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not here
    }
  }
  return null;
}

/** Is this ELF executable static (no PT_INTERP program header)? */
function isStaticElf(path: string): boolean {
  try {
    const b = readFileSync(path);
    if (b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2) return false; // ELF64 only
    const phoff = Number(b.readBigUInt64LE(0x20));
    const phentsize = b.readUInt16LE(0x36);
    const phnum = b.readUInt16LE(0x38);
    for (let i = 0; i < phnum; i++) if (b.readUInt32LE(phoff + i * phentsize) === 3) return false;
    return true;
  } catch {
    return false;
  }
}

function staticBusybox(): string | null {
  return ['/bin/busybox', '/usr/bin/busybox'].find(isStaticElf) ?? null;
}

/** null when a private dockerd can run here; else why not. */
export function dockerAvailable(): string | null {
  if (process.platform !== 'linux') return 'a Docker engine needs Linux';
  if (process.getuid?.() !== 0) return 'a private dockerd needs root';
  if (findExecutable('dockerd') === null) return 'dockerd is not installed (apt-get install docker.io)';
  if (findExecutable('docker') === null) return 'the docker CLI is not installed (apt-get install docker.io)';
  if (findExecutable('tar') === null) return 'tar is not installed';
  if (staticBusybox() === null) return 'no static busybox for the test image (apt-get install busybox-static)';
  return null;
}

/** Skips the test (ctx.skip) with `reason`, or throws when PORTWATCH_REQUIRE_DOCKER=1. */
export function skipWithoutDocker(ctx: { skip: (note?: string) => void; task: { name: string } }, reason: string | null): void {
  if (reason === null) return;
  if (process.env.PORTWATCH_REQUIRE_DOCKER === '1') throw new Error(`${reason} (and PORTWATCH_REQUIRE_DOCKER=1)`);
  console.warn(`skipped "${ctx.task.name}": ${reason}; set PORTWATCH_REQUIRE_DOCKER=1 to make this a failure`);
  ctx.skip(reason);
}

export interface PrivateDocker {
  dir: string;
  socketPath: string;
  /** `unix://<socketPath>`, for DOCKER_HOST. */
  host: string;
  /** dockerd's pid. */
  pid: number;
  /** The docker CLI against this engine; resolves with its trimmed stdout. */
  docker(args: string[], timeoutMs?: number): Promise<string>;
  /** `docker run -d --network none` of the test image; default command: busybox httpd on :8080. */
  runContainer(name: string, command?: string[]): Promise<{ id: string; pid: number }>;
  /** The pid of the container's first process (0 when stopped). */
  containerPid(name: string): Promise<number>;
  teardown(): Promise<void>;
}

function ping(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping', agent: false, timeout: 1_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

function logTail(dir: string): string {
  try {
    return readFileSync(join(dir, 'dockerd.log'), 'utf8').trim().split('\n').slice(-5).join('\n');
  } catch {
    return '(no log)';
  }
}

async function waitReady(child: ChildProcess, dir: string, socketPath: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ping(socketPath))) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`dockerd exited (${child.exitCode ?? child.signalCode}):\n${logTail(dir)}`);
    if (Date.now() > deadline) throw new Error(`dockerd did not answer /_ping within ${timeoutMs} ms:\n${logTail(dir)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function buildRootfs(dir: string): string {
  const rootfs = join(dir, 'rootfs');
  for (const d of ['bin', 'etc', 'proc', 'sys', 'dev', 'tmp']) mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync(staticBusybox() as string, join(rootfs, 'bin/busybox'));
  chmodSync(join(rootfs, 'bin/busybox'), 0o755);
  for (const applet of BUSYBOX_APPLETS) symlinkSync('busybox', join(rootfs, 'bin', applet));
  return rootfs;
}

function dockerdArgs(dir: string, socketPath: string): string[] {
  return [
    ...['--host', `unix://${socketPath}`, '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec')],
    ...['--pidfile', join(dir, 'docker.pid'), '--config-file', join(dir, 'daemon.json')],
    ...['--bridge=none', '--iptables=false', '--ip6tables=false', '--ip-forward=false', '--ip-masq=false'],
    ...['--shutdown-timeout', '2', '--containerd-namespace', `portwatch-test-${process.pid}`],
    ...['--containerd-plugins-namespace', `portwatch-test-${process.pid}-plugins`],
  ];
}

/** Starts a private dockerd, waits for /_ping (deadline) and imports the test image. */
export async function startDocker(timeoutMs = 20_000): Promise<PrivateDocker> {
  const reason = dockerAvailable();
  if (reason !== null) throw new Error(reason);
  const dir = mkdtempSync('/tmp/pw-docker-');
  const socketPath = join(dir, 'docker.sock');
  const host = `unix://${socketPath}`;
  writeFileSync(join(dir, 'daemon.json'), '{}\n');
  // The CLI and dockerd see neither the caller's engine nor its config (credential helpers).
  const inherited = Object.entries(process.env).filter(([k]) => !/^DOCKER_(HOST|CONTEXT|TLS_VERIFY|CERT_PATH|CONFIG)$/.test(k));
  const env: NodeJS.ProcessEnv = { ...Object.fromEntries(inherited), DOCKER_CONFIG: join(dir, 'cli-config') };
  const log = openSync(join(dir, 'dockerd.log'), 'a');
  const child = spawn(findExecutable('dockerd') as string, dockerdArgs(dir, socketPath), { stdio: ['ignore', log, log], env });
  closeSync(log);
  const docker = async (args: string[], ms = 20_000): Promise<string> =>
    (await run('docker', ['-H', host, ...args], { env, timeout: ms, maxBuffer: 1024 * 1024 })).stdout.trim();
  const containerPid = async (name: string): Promise<number> => Number(await docker(['inspect', '-f', '{{.State.Pid}}', name]));
  let tornDown = false;
  const engine: PrivateDocker = {
    dir,
    socketPath,
    host,
    pid: child.pid ?? 0,
    docker,
    containerPid,
    async runContainer(name, command = ['busybox', 'httpd', '-f', '-p', '8080', '-h', '/']) {
      const id = await docker(['run', '-d', '--name', name, '--network', 'none', TEST_IMAGE, ...command]);
      return { id, pid: await containerPid(name) };
    },
    async teardown() {
      if (tornDown) return;
      tornDown = true;
      await teardownEngine(child, dir, docker);
    },
  };
  try {
    await waitReady(child, dir, socketPath, timeoutMs);
    const rootfs = buildRootfs(dir);
    await run('tar', ['-C', rootfs, '-cf', join(dir, 'rootfs.tar'), '.'], { timeout: 20_000 });
    await docker(['import', join(dir, 'rootfs.tar'), TEST_IMAGE]);
  } catch (e) {
    await engine.teardown();
    throw e;
  }
  return engine;
}

/** Everything startDocker made, gone: containers, dockerd, its containerd and shims, mounts, the directory. */
async function teardownEngine(child: ChildProcess, dir: string, docker: (args: string[], ms?: number) => Promise<string>): Promise<void> {
  const problems: string[] = [];
  const dockerdPid = child.pid;
  if (dockerdPid !== undefined && pidAlive(dockerdPid)) {
    try {
      const ids = (await docker(['ps', '-aq'], 10_000)).split('\n').filter((s) => s !== '');
      if (ids.length > 0) await docker(['rm', '-f', ...ids], 20_000);
    } catch (e) {
      problems.push(`removing containers: ${(e as Error).message}`);
    }
    if (!(await terminate(dockerdPid, 10_000))) problems.push(`dockerd ${dockerdPid} would not die`);
  }
  // dockerd stops the containerd it started; whatever outlived it (a SIGKILLed dockerd) is ours to stop.
  for (const [pid, argv] of processesMentioning(dir)) {
    if (argv[0]?.includes('containerd-shim')) await killChildren(pid);
    if (!(await terminate(pid, 5_000))) problems.push(`${argv[0]} ${pid} would not die`);
  }
  const stuck = unmountUnder(dir);
  if (stuck.length > 0) problems.push(`still mounted: ${stuck.join(', ')}`);
  else if (mountsUnder(dir).length === 0) rmSync(dir, { recursive: true, force: true });
  if (problems.length > 0) throw new Error(`private dockerd teardown: ${problems.join('; ')} (left ${dir})`);
}
