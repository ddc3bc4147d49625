/**
 * `portwatch watch` in text mode: what stdout shows before and after the first event. The
 * built CLI, real processes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startCli, type LiveCli, stopClis } from '../helpers/cli.js';
import { holdSockets, stopAll, waitFor } from '../helpers/processes.js';
import { unusedPort } from '../helpers/sockets.js';

const live: LiveCli[] = [];
afterEach(async () => {
  await stopClis(live);
  await stopAll();
});

describe('watch, text', () => {
  it('prints no table header over nothing: with no listener the first line on stdout is the first event', async () => {
    const port = await unusedPort();
    const c = startCli(['watch', '--port', String(port), '--interval', '50ms']);
    live.push(c);
    await waitFor(() => c.stderr().includes('watching 0 listener(s)'), 'the watching line');
    const holder = await holdSockets([{ proto: 'tcp', host: '127.0.0.1', port }]);
    await waitFor(() => c.stdout().includes('\n'), 'the open line');
    expect(c.stdout()).toMatch(
      new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{3} \\+ tcp\\s+127\\.0\\.0\\.1:${port}\\s+${holder.pid} python3\\n$`),
    );
  });
});
