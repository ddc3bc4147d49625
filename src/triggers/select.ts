/**
 * The one place a trigger is chosen. `auto` takes tracefs when we are root and it works
 * here, and polls otherwise; the reason it did not take tracefs is kept for the user.
 */
import { PortwatchError } from '../errors.js';
import { pollTrigger } from './poll.js';
import { tracefsTrigger, tracefsTriggerUnavailableReason } from './tracefs.js';
import { isRoot } from './tracefs-instance.js';
import { TRIGGER_CHOICES, type Trigger, type TriggerChoice, type TriggerSubscriber } from './trigger.js';

export interface StartedTrigger {
  trigger: Trigger;
  /** Ends the subscription (idempotent). */
  stop: () => Promise<void>;
  /** Why `auto` polls instead of using tracefs; null when it did not fall back. */
  fallback: string | null;
}

export interface TriggerContext {
  /**
   * The caller brought its own Source: kernel events describe this host's socket tables,
   * which such a source may not read at all, so `auto` polls for it.
   */
  customSource?: boolean;
  /**
   * The poll trigger to use: one that looks off the main thread (triggers/changes.ts), or the
   * watcher's own timer when absent or when it cannot start here.
   */
  poller?: Trigger | null;
}

export function isTriggerChoice(value: unknown): value is TriggerChoice {
  return typeof value === 'string' && (TRIGGER_CHOICES as readonly string[]).includes(value);
}

function isTrigger(value: unknown): value is Trigger {
  return typeof value === 'object' && value !== null && typeof (value as Trigger).subscribe === 'function';
}

/** Throws PortwatchError('EUSAGE') unless `value` is a trigger choice or a Trigger. */
export function checkTriggerOption(value: unknown): void {
  if (value === undefined || isTriggerChoice(value) || isTrigger(value)) return;
  throw new PortwatchError('EUSAGE', `unknown trigger '${String(value)}' (use one of: ${TRIGGER_CHOICES.join(', ')})`);
}

/** Why `auto` would not pick tracefs, or null when it would. */
export function autoFallbackReason(context: TriggerContext = {}): string | null {
  if (context.customSource) return 'a custom source: kernel events may not describe what it reads';
  if (!isRoot()) return 'tracefs needs root';
  return tracefsTriggerUnavailableReason();
}

/** What `choice` resolves to here, without starting anything (for `list --verbose`). */
export function describeTrigger(choice: TriggerChoice = 'auto', context: TriggerContext = {}): { name: string; fallback: string | null } {
  if (choice !== 'auto') return { name: choice, fallback: null };
  const fallback = autoFallbackReason(context);
  return { name: fallback === null ? 'tracefs' : 'poll', fallback };
}

/**
 * Subscribes `subscriber` to the chosen trigger. An explicit `tracefs` that cannot work
 * throws PortwatchError('ESOURCE_UNAVAILABLE'); `auto` falls back to polling instead.
 */
export function startTrigger(
  choice: TriggerChoice | Trigger = 'auto',
  subscriber: TriggerSubscriber,
  context: TriggerContext = {},
): StartedTrigger {
  checkTriggerOption(choice);
  if (isTrigger(choice)) return { trigger: choice, stop: choice.subscribe(subscriber), fallback: null };
  if (choice === 'poll') return startPolling(subscriber, context, null);
  if (choice === 'tracefs') return { trigger: tracefsTrigger, stop: tracefsTrigger.subscribe(subscriber), fallback: null };
  let fallback = autoFallbackReason(context);
  if (fallback === null) {
    try {
      return { trigger: tracefsTrigger, stop: tracefsTrigger.subscribe(subscriber), fallback: null };
    } catch (e) {
      fallback = (e as Error).message;
    }
  }
  return startPolling(subscriber, context, fallback);
}

/** Polling: off the main thread when the context offers a poller that starts, else on the watcher's timer. */
function startPolling(subscriber: TriggerSubscriber, context: TriggerContext, fallback: string | null): StartedTrigger {
  const poller = context.poller;
  if (poller) {
    try {
      return { trigger: poller, stop: poller.subscribe(subscriber), fallback };
    } catch {
      // e.g. no netlink socket left: the timer does the same job from the main thread
    }
  }
  return { trigger: pollTrigger, stop: pollTrigger.subscribe(subscriber), fallback };
}
