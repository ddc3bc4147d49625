/**
 * The Docker Engine API's JSON (as Docker and Podman's compatible API send it) turned into
 * portwatch's shapes. Pure: an answer missing what identifies a container gives null, a
 * missing detail its empty value; nothing is guessed and nothing throws.
 */

export type EngineRuntime = 'docker' | 'podman';

export interface ContainerDetails {
  /** The full 64-hex id. */
  id: string;
  /** Without Docker's leading `/`. */
  name: string;
  /** The image as the container was created from it (`Config.Image`), e.g. `nginx:1.27`. */
  image: string;
  /** The image's id (`sha256:…`), or null when the engine did not say. */
  imageId: string | null;
  /** The container's first process, as the host sees it; 0 when it is not running. */
  pid: number;
  running: boolean;
  /** The engine's word for the state: created, running, paused, restarting, exited, dead; null if absent. */
  status: string | null;
  labels: Record<string, string>;
  runtime: EngineRuntime;
}

export interface ContainerSummary {
  id: string;
  name: string;
  image: string;
  /** running, exited, …; null if absent. */
  state: string | null;
  labels: Record<string, string>;
  runtime: EngineRuntime;
}

export type ContainerAction =
  | 'create'
  | 'start'
  | 'restart'
  | 'stop'
  | 'die'
  | 'kill'
  | 'pause'
  | 'unpause'
  | 'destroy'
  | 'rename'
  | 'oom'
  | (string & NonNullable<unknown>);

export interface ContainerEvent {
  /** The engine's action, without its details (`exec_start: sh` → `exec_start`); Podman's `died` is `die`. */
  action: ContainerAction;
  id: string;
  /** The container's name (its new name for `rename`), or null when the event does not carry it. */
  name: string | null;
  image: string | null;
  /** For `die`: the exit code; null otherwise. */
  exitCode: number | null;
  /** When it happened, in ms since the epoch; null when the event does not say. */
  time: number | null;
  runtime: EngineRuntime;
}

const ID = /^[0-9a-f]{64}$/;

function record(value: unknown): Record<string, unknown> | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

function text(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/** A string → string map (labels, attributes); other values are dropped. */
export function stringMap(value: unknown): Record<string, string> {
  const r = record(value);
  if (r === null) return {};
  return Object.fromEntries(Object.entries(r).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

function stripSlash(name: string): string {
  return name.startsWith('/') ? name.slice(1) : name;
}

/** GET /containers/{ref}/json → ContainerDetails, or null when the answer has no container id. */
export function containerDetailsFromInspect(value: unknown, runtime: EngineRuntime): ContainerDetails | null {
  const c = record(value);
  const id = text(c?.Id);
  if (c === null || id === null || !ID.test(id)) return null;
  const state = record(c.State);
  const config = record(c.Config);
  const pid = state?.Pid;
  const running = state?.Running === true;
  return {
    id,
    name: stripSlash(text(c.Name) ?? ''),
    image: text(config?.Image) ?? text(c.ImageName) ?? text(c.Image) ?? '',
    imageId: text(c.Image),
    pid: running && typeof pid === 'number' && Number.isSafeInteger(pid) && pid > 0 ? pid : 0,
    running,
    status: text(state?.Status),
    labels: stringMap(config?.Labels),
    runtime,
  };
}

/** One element of GET /containers/json → ContainerSummary, or null without an id. */
export function containerSummaryFromList(value: unknown, runtime: EngineRuntime): ContainerSummary | null {
  const c = record(value);
  const id = text(c?.Id);
  if (c === null || id === null || !ID.test(id)) return null;
  const names = Array.isArray(c.Names) ? c.Names.filter((n): n is string => typeof n === 'string').map(stripSlash) : [];
  // Docker also lists link aliases (`other/alias`); the container's own name has no slash.
  const name = names.find((n) => !n.includes('/')) ?? names[0] ?? '';
  return { id, name, image: text(c.Image) ?? '', state: text(c.State), labels: stringMap(c.Labels), runtime };
}

/** When an event happened, in ms: `timeNano` when it is a safe number, else `time` (s). */
function eventTime(e: Record<string, unknown>): number | null {
  if (typeof e.timeNano === 'number' && Number.isFinite(e.timeNano) && e.timeNano > 0) return Math.floor(e.timeNano / 1e6);
  if (typeof e.time === 'number' && Number.isSafeInteger(e.time) && e.time > 0) return e.time * 1000;
  return null;
}

/** One object of GET /events → ContainerEvent, or null when it is not a container's event. */
export function containerEventFromJson(value: unknown, runtime: EngineRuntime): ContainerEvent | null {
  const e = record(value);
  if (e === null || (e.Type ?? 'container') !== 'container') return null;
  const actor = record(e.Actor);
  const id = text(actor?.ID) ?? text(e.id);
  const rawAction = text(e.Action) ?? text(e.status);
  if (id === null || !ID.test(id) || rawAction === null) return null;
  let action = rawAction.split(':', 1)[0]!.trim();
  if (action === 'died') action = 'die';
  if (action === '') return null;
  const attributes = stringMap(actor?.Attributes);
  // Podman's compatible API copies `containerExitCode` into `exitCode`; older versions send only the former.
  const code = attributes.exitCode ?? attributes.containerExitCode;
  const exit = code !== undefined && /^-?\d{1,10}$/.test(code) ? Number(code) : null;
  return {
    action,
    id,
    name: attributes.name ?? null,
    image: attributes.image ?? text(e.from),
    exitCode: action === 'die' ? exit : null,
    time: eventTime(e),
    runtime,
  };
}
