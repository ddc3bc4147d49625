/** Listener objects for pure tests: sensible defaults, override what matters. */
import type { Listener, ProcessInfo } from '../../src/listener.js';

export function proc(overrides: Partial<ProcessInfo> = {}): ProcessInfo {
  return { pid: 4242, ppid: 1, name: 'node', command: 'node server.js', uid: 1000, ...overrides };
}

export function listener(overrides: Partial<Listener> = {}): Listener {
  return {
    protocol: 'tcp',
    family: 4,
    address: '127.0.0.1',
    port: 3000,
    dualStack: false,
    interface: null,
    inode: 1000,
    uid: 1000,
    netns: '4026531840',
    process: proc(),
    ...overrides,
  };
}
