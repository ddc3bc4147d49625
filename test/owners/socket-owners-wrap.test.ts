/**
 * A walk over every process reads the newest first even after pids wrapped at pid_max: the
 * last pid given out (sys/kernel/ns_last_pid) and below, then the ones above it. Without
 * that, on a host that has run long, a new process is read after every old one (on a busy
 * host: every fd of the host for a port a process opened a moment ago). Native and JS walks alike.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { nativeWalk } from '../../src/owners/native-walk.js';
import { SocketOwners } from '../../src/owners/socket-owners.js';
import { fakeProc, removeFakeProcs } from './fake-proc.js';

afterEach(() => removeFakeProcs());

describe.each([
  ['native', nativeWalk()],
  ['js', null],
])('a walk over every process (%s)', (name, walker) => {
  it.skipIf(name === 'native' && walker === null)('reads the pids given out last first, after pid_max wrapped', async () => {
    const proc = fakeProc();
    for (let pid = 100; pid <= 130; pid++) proc.hold(pid, 3, 1_000 + pid);
    for (let pid = 30_000; pid <= 30_010; pid++) proc.hold(pid, 3, 1_000 + pid);
    // 30005 got the socket long ago; 115 is the process that just started and holds it too.
    proc.hold(30_005, 4, 777);
    proc.hold(115, 4, 777);
    mkdirSync(join(proc.root, 'sys', 'kernel'), { recursive: true });
    writeFileSync(join(proc.root, 'sys', 'kernel', 'ns_last_pid'), '120\n');
    const owners = new SocketOwners(proc.root, Date.now, walker);
    expect((await owners.resolve([777])).get(777)).toEqual([115]);
    // 120 down to 115: two fds each, the walk stops at 115's socket.
    expect(owners.stats.readlinks).toBeLessThanOrEqual(12);
    // Without the file, the highest pids are the newest.
    writeFileSync(join(proc.root, 'sys', 'kernel', 'ns_last_pid'), '');
    proc.hold(30_010, 5, 888);
    proc.hold(130, 5, 888);
    expect((await new SocketOwners(proc.root, Date.now, walker).resolve([888])).get(888)).toEqual([30_010]);
  });
});
