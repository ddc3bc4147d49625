import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PortwatchError } from '../../src/errors.js';
import { waitForPort } from '../../src/wait.js';
import { policyFrom } from '../../src/watch/options.js';
import { watch, type WatchOptions } from '../../src/watch/watcher.js';

const bad: [string, Record<string, unknown>, RegExp][] = [
  ['interval 0', { interval: 0 }, /^interval must be a positive number of milliseconds, got 0$/],
  ['a negative interval', { interval: -5 }, /^interval must be .* got -5$/],
  ['interval NaN', { interval: NaN }, /^interval must be .* got NaN$/],
  ['interval Infinity', { interval: Infinity }, /^interval must be .* got Infinity$/],
  ['interval as a string', { interval: '100' }, /^interval must be .* got 100$/],
  ['cpuBudget 0', { cpuBudget: 0 }, /^cpuBudget is a fraction of one core .* got 0$/],
  ['a negative cpuBudget', { cpuBudget: -0.1 }, /^cpuBudget .* got -0.1$/],
  ['cpuBudget NaN', { cpuBudget: NaN }, /^cpuBudget .* got NaN$/],
  ['cpuBudget above one core', { cpuBudget: 3 }, /^cpuBudget .* got 3$/],
  ['minInterval 0', { minInterval: 0 }, /^minInterval must be .* got 0$/],
  ['maxInterval NaN', { maxInterval: NaN }, /^maxInterval must be .* got NaN$/],
  ['min above max', { minInterval: 500, maxInterval: 200 }, /^minInterval \(500 ms\) is above maxInterval \(200 ms\)$/],
  ['min above the default max', { minInterval: 10_000 }, /^minInterval \(10000 ms\) is above maxInterval \(5000 ms\)$/],
  ['an unknown trigger', { trigger: 'kernel' }, /^unknown trigger 'kernel' \(use one of: auto, tracefs, poll\)$/],
];

const fds = (): number => readdirSync('/proc/self/fd').length;

describe('watch() options', () => {
  it.each(bad)('rejects %s with EUSAGE, before opening anything', (_, options, message) => {
    const before = fds();
    let error: unknown;
    try {
      watch(options as WatchOptions);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PortwatchError);
    expect((error as PortwatchError).code).toBe('EUSAGE');
    expect((error as PortwatchError).message).toMatch(message);
    expect(fds()).toBe(before);
  });

  it('accepts sound ones', async () => {
    expect(policyFrom({})).toEqual({ cpuBudget: 0.003, minMs: 100, maxMs: 5000 });
    expect(policyFrom({ interval: 0.5, cpuBudget: 1, minInterval: 50, maxInterval: 50, trigger: 'poll' })).toEqual({
      fixedMs: 0.5,
      cpuBudget: 1,
      minMs: 50,
      maxMs: 50,
    });
    const w = watch({ interval: 250, cpuBudget: 0.01, minInterval: 200, maxInterval: 300, trigger: 'poll' });
    await w.whenReady();
    await w.close();
  });
});

describe('waitForPort() options', () => {
  it.each(bad)('rejects %s with EUSAGE', async (_, options, message) => {
    const outcome = waitForPort(1, { timeout: 5_000, ...options } as Parameters<typeof waitForPort>[1]);
    await expect(outcome).rejects.toBeInstanceOf(PortwatchError);
    await expect(outcome).rejects.toMatchObject({ code: 'EUSAGE', message: expect.stringMatching(message) });
  });
});
