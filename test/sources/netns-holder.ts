/**
 * A python3 process in a network namespace of its own (`unshare --net`), holding sockets
 * bound to devices: what the sources tests scan through `netnsPid`. Every process is stopped
 * by its pid; a test that cannot make one skips with the reason.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import type { TestContext } from 'vitest';

const DEADLINE_MS = 10_000;

export interface HeldSocket {
  proto: 'tcp' | 'udp';
  host: string;
  port: number;
  /** SO_BINDTODEVICE */
  device?: string;
  /** For link-local addresses: the device whose scope the address is in. */
  scope?: string;
  v6only?: boolean;
}

export interface NetnsHolder {
  pid: number;
  stop(): Promise<void>;
}

// Sets up the namespace (lo up; d0 and d1 with fe80::1 each: a veth pair, since dummy is a
// module many kernels lack), optionally joins a cgroup, binds, prints "ready", waits for EOF.
const SCRIPT = String.raw`
import json, os, socket, subprocess, sys
specs, cgroup = json.loads(sys.argv[1]), sys.argv[2]
if cgroup:
    with open(os.path.join(cgroup, 'cgroup.procs'), 'w') as f:
        f.write(str(os.getpid()))
def ip(*args):
    subprocess.run(['ip', *args], check=True)
ip('link', 'set', 'lo', 'up')
ip('link', 'add', 'd0', 'type', 'veth', 'peer', 'name', 'd1')
for dev in ('d0', 'd1'):
    ip('link', 'set', dev, 'up')
    ip('addr', 'add', 'fe80::1/64', 'dev', dev, 'nodad')
keep = []
for spec in specs:
    v6 = ':' in spec['host']
    s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_STREAM if spec['proto'] == 'tcp' else socket.SOCK_DGRAM)
    if 'v6only' in spec:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1 if spec['v6only'] else 0)
    if 'device' in spec:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, spec['device'].encode())
    scope = socket.if_nametoindex(spec['scope']) if 'scope' in spec else 0
    s.bind((spec['host'], spec['port'], 0, scope) if v6 else (spec['host'], spec['port']))
    if spec['proto'] == 'tcp':
        s.listen()
    keep.append(s)
print('ready', flush=True)
sys.stdin.read()
`;

export function skipWith(ctx: TestContext, reason: string): never {
  console.warn(`skipped "${ctx.task.name}": ${reason}`);
  return ctx.skip(reason);
}

/** Skips the test unless this machine can make network namespaces with veth pairs. */
export function requireNetns(ctx: TestContext): void {
  const probe = spawnSync('unshare', ['--net', 'ip', 'link', 'add', 'd0', 'type', 'veth', 'peer', 'name', 'd1'], {
    encoding: 'utf8',
    timeout: DEADLINE_MS,
  });
  if (probe.status !== 0) {
    skipWith(ctx, `cannot make a network namespace with a veth pair (${(probe.stderr || String(probe.error)).trim()}); needs root`);
  }
}

async function stopByPid(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(child.pid, 'SIGKILL');
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    exited,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`pid ${child.pid} did not exit`)), DEADLINE_MS);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Starts the holder; `cgroup` is a cgroup v2 directory it moves into before binding. */
export async function holdInNetns(sockets: HeldSocket[], cgroup = ''): Promise<NetnsHolder> {
  // unshare execs python3: the pid is the holder's, and it lives in the new namespace.
  const child = spawn('unshare', ['--net', 'python3', '-c', SCRIPT, JSON.stringify(sockets), cgroup], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const holder: NetnsHolder = { pid: child.pid ?? -1, stop: () => stopByPid(child) };
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      new Promise<void>((resolve, reject) => {
        let out = '';
        child.stdout?.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          if (out.includes('ready\n')) resolve();
        });
        child.once('error', reject);
        child.once('exit', (code) => reject(new Error(`socket holder exited with ${code} before it was ready: ${stderr.trim()}`)));
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`socket holder not ready after ${DEADLINE_MS} ms: ${stderr.trim()}`)), DEADLINE_MS);
      }),
    ]);
  } catch (e) {
    await holder.stop();
    throw e;
  } finally {
    clearTimeout(timer);
  }
  return holder;
}
