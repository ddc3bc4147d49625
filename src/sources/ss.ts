/**
 * The `ss` source: spawns iproute2's ss, the seed's way, made correct and cheap.
 * Kernel-side state filters: `state listening` for TCP and `state unconnected` for UDP.
 * Never `-l`: it asks for LISTEN and CLOSE, which makes the kernel walk every established
 * socket (FACTS.md). `-e` gives inodes and uids.
 *
 * One spawn per protocol and family (`-4` / `-6`), run in parallel: ss prints `*` for an
 * IPv6 wildcard, and (before iproute2 4.17, or when the kernel sends no v6only attribute)
 * for an IPv4 one too, so only the call itself says which family a `*` row is. A state
 * filter applies to every protocol of a call, so TCP and UDP cannot share one.
 * Another network namespace is entered with nsenter (needs root).
 */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Family, Protocol } from '../listener.js';
import { PortwatchError } from '../errors.js';
import { parseSs } from '../parse/ss.js';
import type { RawSocket, ScanTarget, Source } from './source.js';

const SPAWN_TIMEOUT_MS = 10_000;

/** Where an executable is on PATH (plus the sbin dirs ss and nsenter often live in). */
export function findExecutable(name: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

function run(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: SPAWN_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) {
        const detail = String(stderr).trim().split('\n')[0] || err.message;
        reject(new Error(detail, { cause: err }));
      } else resolve(stdout);
    });
  });
}

const ARGS: Record<Protocol, string[]> = {
  tcp: ['-H', '-n', '-e', '-t', 'state', 'listening'],
  udp: ['-H', '-n', '-e', '-u', 'state', 'unconnected'],
};

const CALLS: ReadonlyArray<{ protocol: Protocol; family: Family }> = [
  { protocol: 'tcp', family: 4 },
  { protocol: 'tcp', family: 6 },
  { protocol: 'udp', family: 4 },
  { protocol: 'udp', family: 6 },
];

/** The arguments of the ss call for one protocol and family. */
function ssArguments(protocol: Protocol, family: Family): string[] {
  return [family === 4 ? '-4' : '-6', ...ARGS[protocol]];
}

/** Returns null when ss is not installed. */
export function createSsSource(): Source | null {
  const ss = findExecutable('ss');
  if (ss === null) return null;
  return {
    name: 'ss',
    async scan(target: ScanTarget): Promise<RawSocket[]> {
      let prefix: string[] = [];
      let file = ss;
      if (target.netnsPid !== undefined) {
        const nsenter = findExecutable('nsenter');
        if (nsenter === null)
          throw new PortwatchError(
            'ESOURCE_UNAVAILABLE',
            'the ss source needs nsenter (util-linux) to read another network namespace; use --source procfs',
          );
        file = nsenter;
        prefix = [`--net=/proc/${target.netnsPid}/ns/net`, '--', ss];
      }
      const scanOne = async ({ protocol, family }: { protocol: Protocol; family: Family }): Promise<RawSocket[]> => {
        try {
          return parseSs(await run(file, [...prefix, ...ssArguments(protocol, family)]), protocol, family).sockets;
        } catch (e) {
          throw new PortwatchError('ESCAN', `ss failed: ${(e as Error).message}`, { cause: e });
        }
      };
      return (await Promise.all(CALLS.map(scanOne))).flat();
    },
  };
}
