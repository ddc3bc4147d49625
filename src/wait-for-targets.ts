/**
 * waitForTargets(): `portwatch wait` for any mix of targets (src/wait-targets.ts). Ports are
 * answered by the socket table alone, as waitForPort() does. A URL is asked only once its
 * port listens (on an address its host reaches): the request goes to that address, and is
 * asked again when a socket on its port opens, or after a back-off (100 ms doubling to 1 s);
 * it is done when it answers with a status below 500 (or one of `statuses`) while its port
 * still listens. One watcher, one deadline, one AbortSignal for everything.
 */
import { PortwatchError } from './errors.js';
import { armDeadline } from './wait-deadline.js';
import type { Listener } from './listener.js';
import type { ScanOptions } from './scan.js';
import type { Trigger, TriggerChoice } from './triggers/trigger.js';
import type { TickEvent } from './watch/watch-types.js';
import { PortWatcher } from './watch/watcher.js';
import { selectOnly } from './select-only.js';
import { checkUrl, type UrlCheck } from './wait-http.js';
import { connectAddress, describeTargets, listenerServes, type UrlTarget, type WaitTarget } from './wait-targets.js';

export interface WaitForTargetsOptions extends ScanOptions {
  /** Give up after this many ms (default: wait forever). */
  timeout?: number;
  signal?: AbortSignal;
  interval?: number;
  trigger?: TriggerChoice | Trigger;
  /** Wait until no port target listens any more (URL targets are refused). */
  closed?: boolean;
  /** URL statuses that count as ready (default: any below 500). */
  statuses?: readonly number[];
  /** https: accept certificates that do not verify (self-signed). */
  insecure?: boolean;
  /** One URL attempt's timeout in ms (default 5000). */
  requestTimeout?: number;
  /** Called after every scan with the watcher's `tick` (its cost, the interval, owner walks), e.g. for debug logs. */
  onTick?: (tick: TickEvent) => void;
}

export interface UrlAnswer {
  url: string;
  status: number;
}

export interface TargetsResult {
  /** The listeners serving the targets (none with `closed`). */
  listeners: Listener[];
  /** Each URL target's accepted answer. */
  answers: UrlAnswer[];
}

const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 1_000;

interface UrlState {
  target: UrlTarget;
  answer: number | null;
  last: UrlCheck | null;
  attempt: AbortController | null;
  retry: NodeJS.Timeout | null;
  backoffMs: number;
}

function validate(targets: readonly WaitTarget[], o: WaitForTargetsOptions): void {
  if (targets.length === 0) throw new PortwatchError('EUSAGE', 'no target to wait for');
  const urls = targets.filter((t) => t.kind === 'url');
  if (urls.length === 0) return;
  if (o.closed) throw new PortwatchError('EUSAGE', `--closed waits for ports, not URLs: drop ${urls[0]!.text} or --closed`);
  if (o.netnsPid !== undefined) {
    throw new PortwatchError(
      'EUSAGE',
      `URL targets cannot be combined with --netns-pid: ${urls[0]!.text} would be asked from this namespace`,
    );
  }
}

function note(state: UrlState | undefined, listening: boolean): string | null {
  if (state === undefined) return null;
  if (!listening) return 'not listening';
  if (state.last === null) return 'no answer yet';
  return state.last.status !== null ? `last answer ${state.last.status}` : `last attempt: ${state.last.error}`;
}

export function waitForTargets(targets: readonly WaitTarget[], options: WaitForTargetsOptions = {}): Promise<TargetsResult> {
  try {
    validate(targets, options);
  } catch (e) {
    return Promise.reject(e);
  }
  const closed = options.closed === true;
  const serves = (l: Listener): boolean => targets.some((t) => listenerServes(t, l));
  return new Promise<TargetsResult>((resolve, reject) => {
    if (options.signal?.aborted) return reject(new PortwatchError('EABORTED', 'waiting was aborted'));
    let watcher: PortWatcher;
    try {
      const { timeout: _t, signal: _s, closed: _c, statuses: _st, insecure: _i, requestTimeout: _r, onTick, ...scanOptions } = options;
      // Only sockets that could serve a target are attributed (a socket is asked before its owner is known: none yet).
      const select = selectOnly((socket) => serves({ ...socket, process: null }), scanOptions.select);
      watcher = new PortWatcher({ ...scanOptions, select, filter: serves, persistent: true });
      if (onTick !== undefined) watcher.on('tick', onTick);
    } catch (e) {
      return reject(e);
    }
    const urls = new Map<WaitTarget, UrlState>();
    for (const t of targets) {
      if (t.kind === 'url') urls.set(t, { target: t, answer: null, last: null, attempt: null, retry: null, backoffMs: FIRST_RETRY_MS });
    }
    let settled = false;
    let disarm = (): void => {};
    const reset = (s: UrlState): void => {
      s.attempt?.abort();
      if (s.retry) clearTimeout(s.retry);
      s.attempt = null;
      s.retry = null;
    };
    const finish = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      disarm();
      options.signal?.removeEventListener('abort', onAbort);
      for (const s of urls.values()) reset(s);
      outcome();
      // After the caller has had the answer (its continuation runs before any macrotask).
      setImmediate(() => void watcher.close());
    };
    const onAbort = (): void => finish(() => reject(new PortwatchError('EABORTED', 'waiting was aborted')));

    const ask = (s: UrlState, l: Listener): void => {
      const attempt = new AbortController();
      s.attempt = attempt;
      void checkUrl(s.target.url, {
        address: connectAddress(s.target.host, l),
        timeoutMs: options.requestTimeout ?? 5_000,
        signal: attempt.signal,
        ...(options.insecure ? { insecure: true } : {}),
        ...(options.statuses ? { statuses: options.statuses } : {}),
      }).then((check) => {
        if (settled || s.attempt !== attempt) return; // reset meanwhile: its port closed
        s.attempt = null;
        s.last = check;
        if (check.ok) s.answer = check.status;
        else {
          s.retry = setTimeout(() => {
            s.retry = null;
            evaluate();
          }, s.backoffMs);
          s.backoffMs = Math.min(MAX_RETRY_MS, s.backoffMs * 2);
        }
        evaluate();
      });
    };

    const evaluate = (): void => {
      if (settled) return;
      const found = watcher.snapshot();
      let done = true;
      for (const t of targets) {
        const serving = found.filter((l) => listenerServes(t, l));
        const s = urls.get(t);
        if (s === undefined) {
          done &&= closed ? serving.length === 0 : serving.length > 0;
          continue;
        }
        if (serving.length === 0) {
          reset(s);
          s.answer = null;
          s.backoffMs = FIRST_RETRY_MS;
          done = false;
        } else if (s.answer === null) {
          done = false;
          if (s.attempt === null && s.retry === null) ask(s, serving[0]!);
        }
      }
      if (!done) return;
      const answers = [...urls.values()].map((s) => ({ url: s.target.url.href, status: s.answer as number }));
      finish(() => resolve({ listeners: closed ? [] : found, answers }));
    };

    /** A socket opened on a URL's port: ask it now rather than at the end of its back-off. */
    const onChange = ({ opened }: { opened: Listener[] }): void => {
      for (const s of urls.values()) {
        if (s.retry !== null && opened.some((l) => listenerServes(s.target, l))) {
          clearTimeout(s.retry);
          s.retry = null;
        }
      }
      evaluate();
    };

    const timedOut = (): void => {
      const found = watcher.snapshot();
      const listening = (t: WaitTarget): boolean => found.some((l) => listenerServes(t, l));
      const pending = targets.filter((t) => {
        const s = urls.get(t);
        return s !== undefined ? s.answer === null || !listening(t) : closed === listening(t);
      });
      const what = describeTargets(pending, (t) => note(urls.get(t), listening(t)));
      const message = `timed out after ${options.timeout} ms waiting for ${what}${closed ? ' to close' : ''}`;
      finish(() => reject(new PortwatchError('ETIMEOUT', message)));
    };
    if (options.timeout !== undefined) {
      disarm = armDeadline(watcher, options.timeout, () => (evaluate(), settled), timedOut);
    }
    options.signal?.addEventListener('abort', onAbort, { once: true });
    watcher.on('ready', evaluate);
    watcher.on('change', onChange);
    watcher.on('error', () => {}); // keep trying: a source may recover before the deadline
  });
}
