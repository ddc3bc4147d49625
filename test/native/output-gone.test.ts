/**
 * The addon's watchGone(fd, onGone): a thread that waits for the kernel to report `fd` (a
 * pipe's write end: stdout under `| head`) broken once every reader is gone, and calls onGone
 * then, with nothing written. Real pipes: a child's stdin, whose only reader is the child.
 */
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { loadSockDiagAddon, sockDiagUnavailableReason } from '../../src/sources/sock-diag-addon.js';
import { waitFor } from '../helpers/processes.js';

interface GoneAddon {
  watchGone: (fd: unknown, onGone: unknown) => object;
  stopGone: (handle: unknown) => void;
}
const why = sockDiagUnavailableReason();
if (why !== null && process.env.PORTWATCH_REQUIRE_NATIVE === '1') throw new Error(`watchGone tests cannot run: ${why}`);
const addon = loadSockDiagAddon() as unknown as GoneAddon | null;

const children: ReturnType<typeof spawn>[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) process.kill(c.pid as number, 'SIGKILL');
});

/** A child reading nothing from its stdin: we hold the pipe's write end, it the only read end. */
function reader(): { fd: number; kill: () => void } {
  const child = spawn('sleep', ['60'], { stdio: ['pipe', 'ignore', 'ignore'] });
  children.push(child);
  const fd = (child.stdin as unknown as { _handle: { fd: number } })._handle.fd;
  return { fd, kill: () => process.kill(child.pid as number, 'SIGKILL') };
}

describe.skipIf(addon === null)('watchGone', () => {
  it('calls back once the pipe’s reader is gone, and not before', async () => {
    const r = reader();
    let calls = 0;
    const handle = (addon as GoneAddon).watchGone(r.fd, () => calls++);
    await new Promise((res) => setTimeout(res, 100));
    expect(calls).toBe(0); // the reader is still there
    r.kill();
    await waitFor(() => calls === 1, 'the callback');
    (addon as GoneAddon).stopGone(handle);
    (addon as GoneAddon).stopGone(handle); // idempotent
    expect(calls).toBe(1);
  });

  it('stopGone ends the wait: a reader that leaves later is not reported', async () => {
    const r = reader();
    let calls = 0;
    (addon as GoneAddon).stopGone((addon as GoneAddon).watchGone(r.fd, () => calls++));
    r.kill();
    await new Promise((res) => setTimeout(res, 200));
    expect(calls).toBe(0);
  });

  it('refuses what is not a descriptor, a callback or a handle', () => {
    const a = addon as GoneAddon;
    expect(() => a.watchGone(-1, () => {})).toThrow(/file descriptor/);
    expect(() => a.watchGone(1, 'x')).toThrow(/onGone must be a function/);
    expect(() => a.stopGone({})).toThrow(/handle must come from watchGone/);
  });
});
