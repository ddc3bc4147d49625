/**
 * tracefsInstanceNeedsExitHook(): `wait` ends with _exit (cli/exit-now.ts), which skips the
 * 'exit' hook that removes this process's tracefs instance. It may do so only while the
 * instance's watchdog is alive to remove it; otherwise it must take process.exit().
 */
import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { removeTracefsInstanceInBackground, tracefsInstanceDir, tracefsInstanceNeedsExitHook } from '../../src/triggers/tracefs.js';
import { watch, type PortWatcher } from '../../src/watch/watcher.js';
import { waitFor } from '../helpers/processes.js';
import { requireTracefs } from '../helpers/tracefs.js';

const watchers: PortWatcher[] = [];
afterEach(async () => {
  await Promise.all(watchers.splice(0).map((w) => w.close()));
});

/** Pids whose command line names `text` (the watchdog's names the instance directory). */
function processesNaming(text: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(text);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('tracefsInstanceNeedsExitHook', () => {
  it('is true with an instance and no watchdog, false while its watchdog lives, true once it died', async (ctx) => {
    requireTracefs(ctx);
    expect(tracefsInstanceNeedsExitHook()).toBe(false); // no instance
    const first = watch({ trigger: 'tracefs' });
    watchers.push(first);
    await first.whenReady();
    expect(tracefsInstanceNeedsExitHook()).toBe(true); // a library's instance: removed by its close or the exit hook
    await first.close();
    expect(tracefsInstanceNeedsExitHook()).toBe(false);

    removeTracefsInstanceInBackground(); // as `wait` does, before its watcher starts
    const second = watch({ trigger: 'tracefs' });
    watchers.push(second);
    await second.whenReady();
    const dir = tracefsInstanceDir() as string;
    const [watchdog] = await waitFor(() => {
      const pids = processesNaming(dir);
      return pids.length > 0 ? pids : null;
    }, 'the instance watchdog');
    expect(tracefsInstanceNeedsExitHook()).toBe(false);
    process.kill(watchdog as number, 'SIGKILL');
    await waitFor(() => tracefsInstanceNeedsExitHook(), 'the watchdog to be seen gone');
  });
});
