/**
 * `portwatch forward --container NAME|ID`: direct mode into a Docker or Podman container,
 * its pid found through the engine's API (DOCKER_HOST honoured). The engine's events say
 * when it stops (its forwards end, and that is said) and when it starts again (forwarded
 * again, into its new process); removing it ends the command. With --serve, each session's
 * watcher is attached to the relay serve reads (`relay`), so the page follows the restarts.
 */
import { EventEmitter } from 'node:events';
import { containerEvents } from '../containers/engine-events.js';
import { findEngine, inspectContainer, type Engine } from '../containers/engine-api.js';
import type { ForwarderEvents, ForwarderOptions } from '../forward/forwarder.js';
import { forwardNamespace, type NamespaceForward } from '../forward/forward-namespace.js';
import type { TargetWatcher } from '../forward/target-watcher.js';
import type { EngineChoice, ForwardTarget } from './forward-targets.js';

export async function forwardContainer(
  ref: string,
  engineChoice: EngineChoice,
  options: Omit<ForwarderOptions, 'connector'>,
  relay?: TargetWatcher,
): Promise<ForwardTarget> {
  const engine: Engine = await findEngine();
  const subscribed = Date.now();
  const details = await inspectContainer(ref, { engine });
  const name = `container ${details.name}`;
  const events = new EventEmitter<ForwarderEvents>();
  const abort = new AbortController();
  let session: NamespaceForward | null = null;
  let finish!: (why: string) => void;
  const ended = new Promise<string>((resolve) => (finish = resolve));
  const say = (text: string): void => void process.stderr.write(`portwatch: ${text}\n`);

  const stopSession = async (why: 'target-gone' | 'stopped' = 'target-gone'): Promise<void> => {
    const s = session;
    session = null;
    if (s === null) return;
    await s.close(why);
    relay?.detach(s.watcher);
  };
  const startSession = async (): Promise<void> => {
    await stopSession();
    const now = await inspectContainer(details.id, { engine });
    if (!now.running || now.pid <= 0) {
      relay?.detach(); // serve's page: nothing listens there for now
      return say(`${name} is not running; waiting for it to start`);
    }
    const { onTick, ...watch } = engineChoice;
    const s = forwardNamespace({ ...options, netnsPid: now.pid, watch, ...(onTick ? { onTick } : {}) });
    s.forwarder.on('forward', (e) => events.emit('forward', e));
    s.forwarder.on('unforward', (e) => events.emit('unforward', e));
    s.forwarder.on('error', (e) => events.emit('error', e));
    session = s;
    relay?.attach(s.watcher);
    void s.ended.then((why) => {
      if (why === 'target-gone' && session === s) session = null;
      relay?.detach(s.watcher);
    });
  };

  await startSession();
  void (async () => {
    try {
      for await (const e of containerEvents({ engine, since: subscribed, signal: abort.signal })) {
        if (e.id !== details.id) continue;
        if (e.action === 'start' || e.action === 'restart' || e.action === 'unpause') {
          say(`${name} started; forwarding its ports again`);
          await startSession();
        } else if (e.action === 'die' || e.action === 'stop' || e.action === 'kill') {
          if (session !== null) say(`${name} stopped; its forwards are closed until it starts again`);
          await stopSession();
        } else if (e.action === 'destroy') {
          finish(`${name} was removed`);
          return;
        }
      }
    } catch (e) {
      if (!abort.signal.aborted) finish(`lost the container engine: ${(e as Error).message}`);
    }
  })();
  return {
    name,
    events,
    ended,
    close: async () => {
      abort.abort();
      await stopSession('stopped');
    },
  };
}
