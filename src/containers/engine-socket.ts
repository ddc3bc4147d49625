/**
 * Where a container engine's API socket is: DOCKER_HOST when it is set (and then nothing
 * else, as the docker CLI does), otherwise Docker's and Podman's usual sockets, in order.
 * Only unix sockets: portwatch never talks to an engine over TCP or SSH.
 */
import { isAbsolute } from 'node:path';
import { PortwatchError } from '../errors.js';
import { escapeControl } from '../text/escape.js';

export interface EngineSocketCandidate {
  /** The socket's path. */
  path: string;
  /** Where the path comes from: 'DOCKER_HOST', or the usual place it names. */
  from: 'DOCKER_HOST' | 'docker' | 'docker-rootless' | 'podman-rootless' | 'podman';
}

export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';
export const PODMAN_ROOTFUL_SOCKET = '/run/podman/podman.sock';

/** A unix socket path's limit (sun_path is 108 bytes, with its terminating NUL). */
const MAX_SOCKET_PATH = 107;

/**
 * The socket path of a DOCKER_HOST value (`unix:///path`). Any other scheme (tcp://, ssh://,
 * npipe://, fd://) or a malformed value throws PortwatchError('EENGINE') saying what is accepted.
 */
export function dockerHostSocket(value: string): string {
  const shown = escapeControl(value.length > 200 ? `${value.slice(0, 200)}…` : value);
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value)?.[1]?.toLowerCase();
  if (scheme !== 'unix') {
    const what = scheme === undefined ? 'has no scheme' : `uses ${scheme}://`;
    throw new PortwatchError(
      'EENGINE',
      `DOCKER_HOST=${shown} ${what}: portwatch talks to a container engine only through its unix socket (DOCKER_HOST=unix:///path/to/docker.sock)`,
    );
  }
  const path = value.slice('unix://'.length);
  if (!isAbsolute(path) || path.includes('\0') || Buffer.byteLength(path) > MAX_SOCKET_PATH) {
    throw new PortwatchError(
      'EENGINE',
      `DOCKER_HOST=${shown} does not name a unix socket by its absolute path (DOCKER_HOST=unix:///path/to/docker.sock)`,
    );
  }
  return path;
}

/**
 * The sockets to try, in order. DOCKER_HOST (when set and not empty) is the only one; else
 * /var/run/docker.sock, rootless Docker's and Podman's under $XDG_RUNTIME_DIR, and rootful
 * Podman's /run/podman/podman.sock. Throws PortwatchError('EENGINE') for a DOCKER_HOST that
 * is not unix://.
 */
export function engineSockets(env: NodeJS.ProcessEnv = process.env): EngineSocketCandidate[] {
  const dockerHost = env.DOCKER_HOST;
  if (dockerHost !== undefined && dockerHost !== '') return [{ path: dockerHostSocket(dockerHost), from: 'DOCKER_HOST' }];
  const candidates: EngineSocketCandidate[] = [{ path: DEFAULT_DOCKER_SOCKET, from: 'docker' }];
  const runtimeDir = env.XDG_RUNTIME_DIR;
  if (runtimeDir !== undefined && isAbsolute(runtimeDir) && !runtimeDir.includes('\0')) {
    const dir = runtimeDir.replace(/\/+$/, '');
    candidates.push({ path: `${dir}/docker.sock`, from: 'docker-rootless' });
    candidates.push({ path: `${dir}/podman/podman.sock`, from: 'podman-rootless' });
  }
  candidates.push({ path: PODMAN_ROOTFUL_SOCKET, from: 'podman' });
  const seen = new Set<string>();
  return candidates.filter((c) => Buffer.byteLength(c.path) <= MAX_SOCKET_PATH && !seen.has(c.path) && seen.add(c.path));
}
