/**
 * A /proc-shaped directory for owner tests: `<pid>/fd/<n>` symlinks whose text is what
 * readlink returns, `<pid>/stat` with a ppid, `<pid>/task/<pid>/children`. Removed by `removeFakeProcs()`.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const roots: string[] = [];

export interface FakeProc {
  root: string;
  /** `pid` holds socket `inode` at `fd` (replacing what that fd held). */
  hold(pid: number, fd: number, inode: number): void;
  /** `pid` holds a file (not a socket) at `fd`. */
  file(pid: number, fd: number): void;
  close(pid: number, fd: number): void;
  /** `pid` is a process named `name` whose parent is `ppid` (and is listed among its children). */
  process(pid: number, ppid: number, name?: string): void;
}

export function fakeProc(): FakeProc {
  const root = mkdtempSync(join(tmpdir(), 'portwatch-fakeproc-'));
  roots.push(root);
  const children = new Map<number, number[]>();
  const link = (pid: number, fd: number, text: string): void => {
    mkdirSync(join(root, String(pid), 'fd'), { recursive: true });
    const path = join(root, String(pid), 'fd', String(fd));
    rmSync(path, { force: true });
    symlinkSync(text, path);
  };
  return {
    root,
    hold: (pid, fd, inode) => link(pid, fd, `socket:[${inode}]`),
    file: (pid, fd) => link(pid, fd, '/dev/null'),
    close: (pid, fd) => unlinkSync(join(root, String(pid), 'fd', String(fd))),
    process(pid, ppid, name = `p${pid}`) {
      mkdirSync(join(root, String(pid), 'task', String(pid)), { recursive: true });
      writeFileSync(
        join(root, String(pid), 'stat'),
        `${pid} (${name}) S ${ppid} ${pid} ${pid} 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 100\n`,
      );
      writeFileSync(join(root, String(pid), 'comm'), `${name}\n`);
      const siblings = [...(children.get(ppid) ?? []), pid];
      children.set(ppid, siblings);
      mkdirSync(join(root, String(ppid), 'task', String(ppid)), { recursive: true });
      writeFileSync(join(root, String(ppid), 'task', String(ppid), 'children'), siblings.map((c) => `${c} `).join(''));
    },
  };
}

export function removeFakeProcs(): void {
  for (const d of roots.splice(0)) rmSync(d, { recursive: true, force: true });
}
