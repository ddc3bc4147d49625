/**
 * The events a tracefs instance enables, and the filters that keep the kernel from waking us
 * for nothing; on the real kernel (root) for an instance narrowed to one port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import type { Hint } from '../../src/triggers/trigger.js';
import { LISTEN_FILTER, TRACE_EVENTS, traceEventsFor } from '../../src/triggers/tracefs-instance.js';
import { holdSockets, stopAll, waitFor } from '../helpers/processes.js';
import { unusedPort } from '../helpers/sockets.js';
import { requireTracefs } from '../helpers/tracefs.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  }
  await stopAll();
});

describe('traceEventsFor: an instance narrowed to some ports', () => {
  it('passes only those ports entering or leaving LISTEN, and no bind, when UDP does not matter', () => {
    expect(traceEventsFor([3000, 5173, 3000], false)).toEqual([
      ['sock/inet_sock_set_state', `(${LISTEN_FILTER}) && (sport == 3000 || sport == 5173)`],
    ]);
  });

  it('keeps every successful bind when UDP matters (a bind names no port), and no TCP event without TCP ports', () => {
    expect(traceEventsFor([], true)).toEqual([['syscalls/sys_exit_bind', 'ret == 0']]);
    expect(traceEventsFor([53], true)).toEqual([
      ['sock/inet_sock_set_state', `(${LISTEN_FILTER}) && (sport == 53)`],
      ['syscalls/sys_exit_bind', 'ret == 0'],
    ]);
  });

  it('does not filter by port beyond 64 ports, and ignores what is not a port', () => {
    const many = Array.from({ length: 65 }, (_, i) => 1000 + i);
    expect(traceEventsFor(many, false)).toEqual([['sock/inet_sock_set_state', LISTEN_FILTER]]);
    expect(traceEventsFor([0, 70000, 1.5, 80], false)).toEqual([['sock/inet_sock_set_state', `(${LISTEN_FILTER}) && (sport == 80)`]]);
  });

  it('the default instance sees every TCP listen and every bind', () => {
    expect(TRACE_EVENTS.map(([event]) => event)).toEqual(['sock/inet_sock_set_state', 'syscalls/sys_exit_bind']);
  });
});

describe('an instance narrowed to one port, on the real kernel', () => {
  it('hints for that port alone: other ports listening and UDP binds wake nobody', async (ctx) => {
    requireTracefs(ctx);
    const port = await unusedPort();
    // The watchdog removes the instance after the SIGKILL that ends this child.
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { narrowTracefsEvents, removeTracefsInstanceInBackground, tracefsTrigger } from './dist/triggers/tracefs.js';
         removeTracefsInstanceInBackground();
         narrowTracefsEvents({ tcpPorts: [${port}], udp: false });
         tracefsTrigger.subscribe({ hint: (h) => console.log(JSON.stringify(h)), failed: (e) => console.log(e.message) });
         console.log('ready');
         setInterval(() => {}, 1000);`,
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    children.push(child);
    const lines: string[] = [];
    createInterface({ input: child.stdout }).on('line', (l) => lines.push(l));
    await waitFor(() => lines.includes('ready'), 'the child to subscribe');
    const holder = await holdSockets([]);
    const other = await holder.open({ proto: 'tcp', host: '127.0.0.1' });
    await holder.open({ proto: 'udp', host: '127.0.0.1' });
    await holder.close(other.index);
    await holder.open({ proto: 'tcp', host: '127.0.0.1', port });
    const hints = (): Hint[] => lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Hint);
    await waitFor(() => hints().some((h) => h.kind === 'listen' && h.port === port), 'the listen hint of its port');
    // The kernel reports in time order: the other port's events came before, and none passed.
    expect(hints()).toEqual([{ kind: 'listen', port, tid: holder.pid }]);
  });
});
