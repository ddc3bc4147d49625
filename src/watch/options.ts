/**
 * The watcher's timing options, checked where they live: every caller (the CLI, serve, mcp,
 * a library user) gets the same PortwatchError('EUSAGE') for a bad value instead of a
 * watcher that scans in a tight loop (interval 0) or never (NaN).
 */
import { PortwatchError } from '../errors.js';
import { checkTriggerOption } from '../triggers/select.js';
import { DEFAULT_POLICY, type SchedulePolicy } from './schedule.js';

export interface TimingOptions {
  interval?: number;
  cpuBudget?: number;
  minInterval?: number;
  maxInterval?: number;
  trigger?: unknown;
}

function positiveMs(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new PortwatchError('EUSAGE', `${name} must be a positive number of milliseconds, got ${String(value)}`);
  }
  return value;
}

/** The schedule policy for these options; throws PortwatchError('EUSAGE') for a bad one. */
export function policyFrom(options: TimingOptions): SchedulePolicy {
  const fixedMs = positiveMs('interval', options.interval);
  const minMs = positiveMs('minInterval', options.minInterval) ?? DEFAULT_POLICY.minMs;
  const maxMs = positiveMs('maxInterval', options.maxInterval) ?? DEFAULT_POLICY.maxMs;
  if (minMs > maxMs) throw new PortwatchError('EUSAGE', `minInterval (${minMs} ms) is above maxInterval (${maxMs} ms)`);
  const { cpuBudget = DEFAULT_POLICY.cpuBudget } = options;
  if (typeof cpuBudget !== 'number' || !Number.isFinite(cpuBudget) || cpuBudget <= 0 || cpuBudget > 1) {
    throw new PortwatchError('EUSAGE', `cpuBudget is a fraction of one core (0 < cpuBudget <= 1, e.g. 0.003), got ${String(cpuBudget)}`);
  }
  checkTriggerOption(options.trigger);
  return { ...(fixedMs !== undefined ? { fixedMs } : {}), cpuBudget, minMs, maxMs };
}
