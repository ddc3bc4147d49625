/**
 * A named network namespace reached from the host over a veth pair, for tests of what
 * crosses a network (forward through serve). The only non-loopback addresses a test may
 * use are these, which the test made itself: 10.201.X.1 (host side) and 10.201.X.2 (inside).
 */
import { spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';

export interface VethNamespace {
  name: string;
  hostAddress: string;
  innerAddress: string;
  /** `ip netns exec NAME` + command: prefix for spawn. */
  exec: string[];
  destroy(): void;
}

function ip(args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim() || r.error?.message}`);
}

/** Why a veth namespace cannot be made here, or null. */
export function vethSupport(): string | null {
  if (process.getuid?.() !== 0) return 'veth namespaces need root';
  const r = spawnSync('ip', ['-V'], { encoding: 'utf8' });
  return r.error ? `ip (iproute2) is not runnable: ${r.error.message}` : null;
}

export function createVethNamespace(): VethNamespace {
  const id = randomInt(1, 250);
  const tag = `${process.pid % 10000}x${id}`;
  const name = `pwtest-${tag}`;
  const hostIf = `pwh${tag}`.slice(0, 15);
  const innerIf = `pwn${tag}`.slice(0, 15);
  const hostAddress = `10.201.${id}.1`;
  const innerAddress = `10.201.${id}.2`;
  ip(['netns', 'add', name]);
  try {
    ip(['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', innerIf]);
    ip(['link', 'set', innerIf, 'netns', name]);
    ip(['addr', 'add', `${hostAddress}/30`, 'dev', hostIf]);
    ip(['link', 'set', hostIf, 'up']);
    ip(['-n', name, 'addr', 'add', `${innerAddress}/30`, 'dev', innerIf]);
    ip(['-n', name, 'link', 'set', innerIf, 'up']);
    ip(['-n', name, 'link', 'set', 'lo', 'up']);
  } catch (e) {
    spawnSync('ip', ['link', 'del', hostIf]);
    spawnSync('ip', ['netns', 'del', name]);
    throw e;
  }
  return {
    name,
    hostAddress,
    innerAddress,
    exec: ['ip', 'netns', 'exec', name],
    destroy: () => {
      spawnSync('ip', ['link', 'del', hostIf]); // takes its peer with it
      spawnSync('ip', ['netns', 'del', name]);
    },
  };
}
