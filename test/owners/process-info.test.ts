import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { COMMAND_MAX_BYTES } from '../../src/listener.js';
import { formatCmdline, readProcessInfo } from '../../src/owners/process-info.js';
import { waitFor } from '../helpers/processes.js';

const children: number[] = [];
afterEach(() => {
  for (const pid of children.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

describe('readProcessInfo', () => {
  it('reads name, command line, ppid and uid of a real process', () => {
    const info = readProcessInfo(process.pid);
    expect(info).toMatchObject({ pid: process.pid, ppid: process.ppid, uid: process.getuid?.() });
    expect(info?.name.length).toBeGreaterThan(0);
    expect(info?.command).toContain(process.argv0.split('/').at(-1) ?? 'node');
  });

  it('caps a 100,000-character command line', async () => {
    // A program that ignores extra arguments and stays (GNU sleep exits at once on 'xxx…',
    // which made this test a race it sometimes lost).
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)', 'x'.repeat(100_000)], { stdio: 'ignore' });
    children.push(child.pid as number);
    // Until execve has set up the new command line, /proc shows an empty one.
    await waitFor(() => readFileSync(`/proc/${child.pid}/cmdline`).length > 0, 'the child to finish exec');
    const info = readProcessInfo(child.pid as number);
    expect(info?.name).toBe('node');
    expect(info?.command.startsWith(`${process.execPath} -e setTimeout(() => {}, 30000) xxxx`)).toBe(true);
    expect(Buffer.byteLength(info?.command ?? '')).toBeLessThanOrEqual(COMMAND_MAX_BYTES);
  });

  it('returns null for a process that is gone', () => {
    expect(readProcessInfo(2 ** 22 + 4321)).toBeNull();
  });

  it('turns NULs into spaces', () => {
    expect(formatCmdline('node\0server.js\0--port\0\0')).toBe('node server.js --port');
  });
});
