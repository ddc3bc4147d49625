/**
 * A minimal Docker Engine API client (Docker, and Podman's compatible API) over the engine's
 * unix socket: find the engine, inspect a container, list containers. Events are in
 * engine-events.ts. No dependency: node:http with `socketPath`, one connection per request.
 */
import { PortwatchError } from '../errors.js';
import { escapeControl } from '../text/escape.js';
import { engineRequest, DEFAULT_TIMEOUT_MS, type EngineResponse } from './engine-http.js';
import {
  containerDetailsFromInspect,
  containerSummaryFromList,
  type ContainerDetails,
  type ContainerSummary,
  type EngineRuntime,
} from './engine-json.js';
import { engineSockets, type EngineSocketCandidate } from './engine-socket.js';

export type { ContainerDetails, ContainerSummary, EngineRuntime } from './engine-json.js';

/** An engine that answered /_ping. */
export interface Engine {
  socketPath: string;
  from: EngineSocketCandidate['from'];
  /** Podman says so in a `Libpod-Api-Version` header on every answer; Docker never sends it. */
  runtime: EngineRuntime;
  /** The Docker API version the engine speaks (its `Api-Version` header), or null. */
  apiVersion: string | null;
}

export interface EngineOptions {
  /** An engine found before (findEngine); otherwise one is found for this call. */
  engine?: Engine;
  /** Where DOCKER_HOST and XDG_RUNTIME_DIR are read. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Per request. Default 5 s (2 s per socket for /_ping). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

const PING_TIMEOUT_MS = 2_000;
const INSPECT_MAX_BYTES = 4 * 1024 * 1024;
const LIST_MAX_BYTES = 32 * 1024 * 1024;
/** Docker's names are `[a-zA-Z0-9][a-zA-Z0-9_.-]+`; ids and id prefixes are hex. */
const CONTAINER_REF = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]{0,254}$/;

function header(res: EngineResponse, name: string): string | null {
  const v = res.headers[name];
  return typeof v === 'string' ? v : null;
}

/** Asks one socket for /_ping. Rejects with EENGINE (or EABORTED) when it is no engine's. */
export async function pingEngine(candidate: EngineSocketCandidate, options: Omit<EngineOptions, 'engine' | 'env'> = {}): Promise<Engine> {
  const res = await engineRequest(candidate.path, '/_ping', {
    timeoutMs: options.timeoutMs ?? PING_TIMEOUT_MS,
    maxBytes: 4096,
    signal: options.signal,
  });
  if (res.status !== 200 || res.body.toString('utf8').trim() !== 'OK') {
    throw new PortwatchError(
      'EENGINE',
      `${candidate.path} answered /_ping with HTTP ${res.status}: it is not a Docker or Podman API socket`,
    );
  }
  const podman = header(res, 'libpod-api-version') !== null || /^libpod\//i.test(header(res, 'server') ?? '');
  return {
    socketPath: candidate.path,
    from: candidate.from,
    runtime: podman ? 'podman' : 'docker',
    apiVersion: header(res, 'api-version'),
  };
}

/**
 * The first engine socket that answers /_ping (engineSockets() order). Rejects with
 * PortwatchError('EENGINE') in one line: the DOCKER_HOST socket's problem, or what each
 * usual socket's was.
 */
export async function findEngine(options: Omit<EngineOptions, 'engine'> = {}): Promise<Engine> {
  const env = options.env ?? process.env;
  const candidates = engineSockets(env);
  const missing: string[] = [];
  const failures: string[] = [];
  for (const candidate of candidates) {
    try {
      return await pingEngine(candidate, options);
    } catch (e) {
      if (!(e instanceof PortwatchError) || e.code !== 'EENGINE') throw e;
      if (candidate.from === 'DOCKER_HOST') {
        throw new PortwatchError('EENGINE', `DOCKER_HOST=${escapeControl(env.DOCKER_HOST ?? '')}: ${e.message}`, { cause: e });
      }
      if ((e.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') missing.push(candidate.path);
      else failures.push(e.message);
    }
  }
  if (failures.length > 0) throw new PortwatchError('EENGINE', `no container engine answers: ${failures.join('; ')}`);
  throw new PortwatchError(
    'EENGINE',
    `no Docker or Podman socket (looked for ${missing.join(', ')}); set DOCKER_HOST=unix:///path/to/docker.sock`,
  );
}

/** The engine's own words for a failed request (`{"message": …}`), made safe to print and short. */
function engineSays(res: EngineResponse): string {
  let message: unknown = null;
  try {
    message = (JSON.parse(res.body.toString('utf8')) as { message?: unknown } | null)?.message;
  } catch {
    message = res.body.toString('utf8');
  }
  const s = typeof message === 'string' ? message.trim() : '';
  return s === '' ? '' : `: ${escapeControl(s.length > 300 ? `${s.slice(0, 300)}…` : s)}`;
}

export function engineAnswerError(engine: Engine, what: string, res: EngineResponse): PortwatchError {
  return new PortwatchError(
    'EENGINE',
    `${engine.runtime} on ${engine.socketPath} answered ${what} with HTTP ${res.status}${engineSays(res)}`,
  );
}

function parseJson(engine: Engine, what: string, res: EngineResponse): unknown {
  try {
    return JSON.parse(res.body.toString('utf8'));
  } catch {
    throw new PortwatchError('EENGINE', `${engine.runtime} on ${engine.socketPath} answered ${what} with something that is not JSON`);
  }
}

/**
 * A container by name, id or id prefix. Rejects with ENOCONTAINER ("no container named X")
 * when the engine has none, EUSAGE for a reference no engine accepts, EENGINE otherwise.
 */
export async function inspectContainer(ref: string, options: EngineOptions = {}): Promise<ContainerDetails> {
  if (!CONTAINER_REF.test(ref)) {
    throw new PortwatchError('EUSAGE', `${JSON.stringify(escapeControl(ref.slice(0, 300)))} is not a container name or id`);
  }
  const engine = options.engine ?? (await findEngine(options));
  const path = `/containers/${encodeURIComponent(ref)}/json`;
  const res = await engineRequest(engine.socketPath, path, {
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    maxBytes: INSPECT_MAX_BYTES,
    signal: options.signal,
  });
  if (res.status === 404)
    throw new PortwatchError('ENOCONTAINER', `no container named ${ref} (asked ${engine.runtime} on ${engine.socketPath})`);
  if (res.status === 400) throw new PortwatchError('EUSAGE', `container ${ref}${engineSays(res)}`);
  if (res.status !== 200) throw engineAnswerError(engine, `GET ${path}`, res);
  const details = containerDetailsFromInspect(parseJson(engine, `GET ${path}`, res), engine.runtime);
  if (details === null)
    throw new PortwatchError('EENGINE', `${engine.runtime} on ${engine.socketPath} described ${ref} without a container id`);
  return details;
}

/** The engine's containers: running ones, or all with `all: true`. */
export async function listContainers(options: EngineOptions & { all?: boolean } = {}): Promise<ContainerSummary[]> {
  const engine = options.engine ?? (await findEngine(options));
  const path = options.all === true ? '/containers/json?all=1' : '/containers/json';
  const res = await engineRequest(engine.socketPath, path, {
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    maxBytes: LIST_MAX_BYTES,
    signal: options.signal,
  });
  if (res.status !== 200) throw engineAnswerError(engine, `GET ${path}`, res);
  const list = parseJson(engine, `GET ${path}`, res);
  if (!Array.isArray(list))
    throw new PortwatchError('EENGINE', `${engine.runtime} on ${engine.socketPath} answered GET ${path} with no list`);
  return list.map((c) => containerSummaryFromList(c, engine.runtime)).filter((c): c is ContainerSummary => c !== null);
}
