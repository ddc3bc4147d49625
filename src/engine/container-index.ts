/**
 * Containers of processes, named. The id comes from /proc/<pid>/cgroup (read once per pid);
 * names, images and pod labels from the Docker/Podman Engine API, cached per container id.
 *
 * The engine is never allowed to hold a scan up for long: a scan that meets containers it
 * has no names for asks the engine (one list of running containers, then an inspect for
 * what the list did not have) and waits at most `waitMs`; what arrives later is kept, and
 * the `changed` callback tells the watcher, which re-announces those listeners as `update`.
 * No engine (no socket): names stay null and the engine is looked for again at most every
 * 30 s. With `watchEvents`, the engine's container events keep the cache right (rename,
 * destroy) and warm (a started container is inspected before it listens).
 */
import type { CgroupContainer } from '../containers/cgroup-container.js';
import { findEngine, inspectContainer, listContainers, type Engine } from '../containers/engine-api.js';
import { containerEvents } from '../containers/engine-events.js';
import { containerOfProcess } from '../containers/process-container.js';
import { procFs, realProc, type ProcFs } from '../proc/proc-fs.js';
import type { ListenerContainer } from '../listener.js';
import { engineMayKnow, listenerContainer, type EngineFacts } from './container-identity.js';

const ENGINE_RETRY_MS = 30_000;
const UNKNOWN_RETRY_MS = 60_000;
const EVENTS_RETRY_MS = 5_000;
const REQUEST_TIMEOUT_MS = 5_000;

export interface ContainerIndexOptions {
  /** Ask a Docker/Podman engine for names (default true). */
  engine?: boolean;
  /** Where DOCKER_HOST is read (default process.env). */
  env?: NodeJS.ProcessEnv;
  procRoot?: string;
  /** Called when names arrive after a scan stopped waiting, or an engine event changed one. */
  changed?: () => void;
  now?: () => number;
}

const delay = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms).unref();
  });

export class ContainerIndex {
  private readonly proc: Pick<ProcFs, 'cgroup'>;
  private readonly byPid = new Map<number, CgroupContainer | null>();
  private readonly facts = new Map<string, EngineFacts>();
  /** Ids the engine did not know (or no engine answered for), with when to ask again. */
  private readonly unknownUntil = new Map<string, number>();
  private readonly described = new Map<string, ListenerContainer>();
  private engine: Engine | null = null;
  private engineLookedAt = Number.NEGATIVE_INFINITY;
  /** Lookups under way, and the ids they ask about. */
  private readonly inFlight = new Set<Promise<void>>();
  private readonly asking = new Set<string>();
  private readonly now: () => number;

  constructor(private readonly options: ContainerIndexOptions = {}) {
    this.now = options.now ?? Date.now;
    this.proc = options.procRoot === undefined ? realProc : procFs(options.procRoot);
  }

  /** The container `pid` is in (null: the host, or not recognised), read once per pid. */
  ofProcess(pid: number): CgroupContainer | null {
    let c = this.byPid.get(pid);
    if (c === undefined) {
      c = containerOfProcess(pid, this.proc);
      this.byPid.set(pid, c);
    }
    return c;
  }

  /** The cached answer for `pid`, without reading (undefined: not read yet). */
  known(pid: number): CgroupContainer | null | undefined {
    return this.byPid.get(pid);
  }

  /** Forgets pids that are gone (a reused pid is another process). */
  forget(alive: (pid: number) => boolean): void {
    for (const pid of this.byPid.keys()) if (!alive(pid)) this.byPid.delete(pid);
  }

  /** The `container` for listeners in `c`: the same object until what is known of it changes. */
  describe(c: CgroupContainer): ListenerContainer {
    const facts = this.facts.get(c.id) ?? null;
    const held = this.described.get(c.id);
    const next = listenerContainer(c, facts);
    if (held !== undefined && sameContainer(held, next)) return held;
    this.described.set(c.id, next);
    return next;
  }

  /** Asks the engine about containers it has no names for; waits at most `waitMs`. */
  async lookUp(containers: readonly CgroupContainer[], waitMs: number): Promise<void> {
    if (this.options.engine === false) return;
    const now = this.now();
    const wanted = new Set<string>();
    for (const c of containers) {
      if (!engineMayKnow(c) || this.facts.has(c.id) || (this.unknownUntil.get(c.id) ?? 0) > now) continue;
      wanted.add(c.id);
    }
    const fresh = [...wanted].filter((id) => !this.asking.has(id));
    if (fresh.length > 0) {
      for (const id of fresh) this.asking.add(id);
      const p: Promise<void> = this.fetch(new Set(fresh)).finally(() => {
        for (const id of fresh) this.asking.delete(id);
        this.inFlight.delete(p);
      });
      this.inFlight.add(p);
    }
    if (wanted.size === 0 || this.inFlight.size === 0) return;
    const work = Promise.all([...this.inFlight]);
    let late = true;
    await Promise.race([work.then(() => void (late = false)), delay(waitMs)]);
    if (late) void work.then(() => this.options.changed?.());
  }

  /** Keeps the cache right from the engine's events until `signal` aborts. */
  async watchEvents(signal: AbortSignal, onEvent: () => void = () => {}): Promise<void> {
    while (!signal.aborted) {
      const engine = await this.findEngine();
      if (engine !== null) {
        try {
          for await (const e of containerEvents({ engine, signal, since: Date.now() })) {
            if (e.action === 'destroy' || e.action === 'rename') {
              this.facts.delete(e.id);
              this.unknownUntil.delete(e.id);
              if (e.action === 'rename') void this.fetch(new Set([e.id])).then(() => this.options.changed?.());
            } else if (e.action === 'start') {
              this.unknownUntil.delete(e.id);
              void this.fetch(new Set([e.id]));
            }
            onEvent();
          }
        } catch {
          this.engine = null; // the engine went away: look for it again
        }
      }
      if (!signal.aborted) await delay(engine === null ? ENGINE_RETRY_MS : EVENTS_RETRY_MS);
    }
  }

  private async findEngine(): Promise<Engine | null> {
    if (this.engine !== null) return this.engine;
    const now = this.now();
    if (now - this.engineLookedAt < ENGINE_RETRY_MS) return null;
    this.engineLookedAt = now;
    try {
      this.engine = await findEngine({ env: this.options.env ?? process.env, timeoutMs: 1_000 });
    } catch {
      this.engine = null;
    }
    return this.engine;
  }

  private async fetch(ids: Set<string>): Promise<void> {
    const engine = await this.findEngine();
    if (engine === null) return this.giveUp(ids, ENGINE_RETRY_MS);
    try {
      // One request names every running container; inspect only what it did not list.
      if (ids.size > 1) {
        for (const s of await listContainers({ engine, timeoutMs: REQUEST_TIMEOUT_MS })) {
          this.facts.set(s.id, { name: s.name, image: s.image, labels: s.labels });
          ids.delete(s.id);
        }
      }
      await Promise.all(
        [...ids].slice(0, 32).map(async (id) => {
          try {
            const d = await inspectContainer(id, { engine, timeoutMs: REQUEST_TIMEOUT_MS });
            this.facts.set(d.id, { name: d.name, image: d.image, labels: d.labels });
            ids.delete(id);
          } catch {
            // not the engine's (a containerd container), or gone: asked again later
          }
        }),
      );
    } catch {
      this.engine = null;
    }
    this.giveUp(ids, UNKNOWN_RETRY_MS);
  }

  private giveUp(ids: Iterable<string>, forMs: number): void {
    const until = this.now() + forMs;
    for (const id of ids) if (!this.facts.has(id)) this.unknownUntil.set(id, until);
  }
}

function sameContainer(a: ListenerContainer, b: ListenerContainer): boolean {
  return (
    a.id === b.id && a.name === b.name && a.runtime === b.runtime && a.image === b.image && a.pod === b.pod && a.namespace === b.namespace
  );
}
