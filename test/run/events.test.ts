import { describe, expect, it } from 'vitest';
import { formatRunEvent } from '../../src/run/events.js';
import { listener, proc } from '../rules/make-listener.js';

const time = '2026-01-01T00:00:00.000Z';
const l = listener({ address: '127.0.0.1', port: 5173, process: proc({ pid: 123, name: 'node' }) });

describe('run lines on stderr', () => {
  it('name the listener, its process and label', () => {
    const label = () => 'Vite';
    expect(formatRunEvent({ type: 'open', time, listener: l }, 'npm')).toBe('portwatch: + tcp 127.0.0.1:5173 node (pid 123)');
    expect(formatRunEvent({ type: 'close', time, listener: l }, 'npm', label)).toBe(
      'portwatch: - tcp 127.0.0.1:5173 node (pid 123) [Vite]',
    );
    const v6 = listener({ family: 6, address: '::1', port: 3000, process: null });
    expect(formatRunEvent({ type: 'ready', time, listeners: [l, v6] }, 'npm')).toBe(
      'portwatch: ready: tcp 127.0.0.1:5173 node (pid 123), tcp6 [::1]:3000 (process unknown)',
    );
    expect(formatRunEvent({ type: 'orphan', time, listener: l }, 'npm')).toBe(
      'portwatch: still listening after npm exited: tcp 127.0.0.1:5173 node (pid 123)',
    );
  });

  it('name what survived the stop, its name escaped', () => {
    expect(formatRunEvent({ type: 'still-running', time, pid: 77, name: 'node' }, 'npm')).toBe(
      'portwatch: still running after stop: pid 77 (node)',
    );
    expect(formatRunEvent({ type: 'still-running', time, pid: 77, name: 'a\u001b[2Jb\n' }, 'npm')).toBe(
      'portwatch: still running after stop: pid 77 (a\\x1b[2Jb\\n)',
    );
  });

  it('say when the ready command failed, and nothing when it succeeded', () => {
    expect(formatRunEvent({ type: 'ready-exec', time, command: ['npm', 'test'], code: 0, signal: null }, 'x')).toBeNull();
    expect(formatRunEvent({ type: 'ready-exec', time, command: ['sh', '-c', 'exit 3'], code: 3, signal: null }, 'x')).toBe(
      "portwatch: --ready-exec sh -c 'exit 3' exited with code 3",
    );
    expect(formatRunEvent({ type: 'ready-exec', time, command: ['x'], code: null, signal: 'SIGTERM' }, 'x')).toBe(
      'portwatch: --ready-exec x was killed by SIGTERM',
    );
    expect(formatRunEvent({ type: 'exit', time, code: 0, signal: null }, 'x')).toBeNull();
  });
});
