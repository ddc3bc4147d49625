/**
 * Removing tracefs instances for commands that exit right after their answer (`wait`, `kill`):
 * a watchdog started with the instance removes it once the process is gone, however it ends.
 * Real kernel, real processes, a real SIGKILL. Needs root (see helpers/tracefs.ts).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/processes.js';
import { requireTracefs } from '../helpers/tracefs.js';
import { exited, killNodeChildren, node } from './node-module-child.js';

afterEach(() => {
  killNodeChildren();
});

/** Processes whose command line names `text` (the watchdog names the instance it removes). */
function processesNaming(text: string): string[] {
  return readdirSync('/proc').filter((p) => {
    if (!/^\d+$/.test(p)) return false;
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'latin1').includes(text);
    } catch {
      return false;
    }
  });
}

const OPEN_IN_BACKGROUND_MODE = `import { removeTracefsInstanceInBackground, tracefsTrigger, tracefsInstanceDir } from './dist/triggers/tracefs.js';
  removeTracefsInstanceInBackground();
  const stop = tracefsTrigger.subscribe({ hint() {}, failed() {} });
  console.log(tracefsInstanceDir());`;

describe('background removal of the tracefs instance', () => {
  it('removes the instance of a process SIGKILLed while it waited, with nobody else starting', async (ctx) => {
    requireTracefs(ctx);
    const { child, lines } = node(`${OPEN_IN_BACKGROUND_MODE}\nsetInterval(() => {}, 1000);`);
    const dir = await waitFor(() => lines[0], 'the child to open its instance');
    expect(dir).toMatch(new RegExp(`/instances/portwatch-${child.pid}$`));
    expect(processesNaming(dir)).toHaveLength(1); // the watchdog, waiting
    process.kill(child.pid as number, 'SIGKILL');
    await exited(child);
    await waitFor(() => !existsSync(dir), 'the watchdog to remove the instance', 5_000);
    await waitFor(() => processesNaming(dir).length === 0, 'the watchdog to end', 5_000);
  });

  it('a process that closes its reader and exits leaves nothing behind, and spawns nothing at close', async (ctx) => {
    requireTracefs(ctx);
    const { child, lines } = node(
      `import { readdirSync, readFileSync } from 'node:fs';
       ${OPEN_IN_BACKGROUND_MODE}
       const kids = () => readdirSync('/proc/self/task').flatMap((t) => readFileSync('/proc/self/task/' + t + '/children', 'utf8').split(' ').filter(Boolean));
       const before = kids().length;
       await stop();
       console.log(kids().length - before);`,
    );
    await exited(child);
    expect(child.exitCode).toBe(0);
    const [dir, spawnedAtClose] = lines;
    expect(spawnedAtClose).toBe('0');
    await waitFor(() => !existsSync(dir as string), 'the watchdog to remove the instance', 5_000);
    await waitFor(() => processesNaming(dir as string).length === 0, 'the watchdog to end', 5_000);
  });
});
