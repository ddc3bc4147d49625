import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { RUN_TOKEN_ENV } from '../../src/run/process-tree.js';
import { readProcEntry } from '../../src/run/proc-table.js';
import { SpawnedTree } from '../../src/run/spawned-tree.js';
import { waitFor } from '../helpers/processes.js';
import { FAMILY, gone } from './run-cli.js';

const pids = new Set<number>();
const groups = new Set<number>();

afterEach(() => {
  for (const g of groups) kill(-g);
  for (const p of pids) kill(p);
  groups.clear();
  pids.clear();
});

function kill(target: number): void {
  try {
    process.kill(target, 'SIGKILL');
  } catch {
    // gone already
  }
}

interface Root {
  child: ChildProcess;
  pid: number;
  lines: string[];
}

/** A root spawned as `run` spawns COMMAND: detached, so it leads its own group. */
function spawnRoot(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Root {
  const child = spawn(command, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env });
  const pid = child.pid as number;
  pids.add(pid);
  groups.add(pid);
  const lines: string[] = []; // stdout and stderr
  for (const stream of [child.stdout, child.stderr])
    createInterface({ input: stream as NodeJS.ReadableStream }).on('line', (l) => lines.push(l));
  return { child, pid, lines };
}

async function grandchild(root: Root): Promise<number> {
  const line = await waitFor(() => root.lines.find((l) => l.startsWith('gc ')), 'the grandchild to listen');
  const pid = Number(line.split(' ')[1]);
  pids.add(pid);
  return pid;
}

const pidsOf = (tree: SpawnedTree): number[] => tree.members().map((m) => m.pid);

describe('SpawnedTree: who belongs to the tree', () => {
  it('a process that stayed in the group after its parent exited (a double fork)', async () => {
    const root = spawnRoot('sh', ['-c', `(${process.execPath} ${FAMILY} listen &); exec sleep 60`]);
    const gc = await grandchild(root);
    const reparented = (): boolean => {
      const parent = readProcEntry(gc)?.ppid;
      return parent !== undefined && parent !== root.pid && readProcEntry(parent)?.ppid !== root.pid;
    };
    await waitFor(reparented, 'the subshell to exit');
    expect(readProcEntry(gc)?.pgid).toBe(root.pid);
    expect(pidsOf(new SpawnedTree(root.pid, { group: true, token: null }))).toEqual(expect.arrayContaining([root.pid, gc]));
    expect(pidsOf(new SpawnedTree(root.pid, { group: false, token: null }))).not.toContain(gc);
  });

  it('a descendant that left the group (its own session) while its parent lives', async () => {
    const root = spawnRoot(process.execPath, [FAMILY, 'escape']);
    const gc = await grandchild(root);
    expect(readProcEntry(gc)).toMatchObject({ ppid: root.pid, pgid: gc });
    expect(pidsOf(new SpawnedTree(root.pid, { group: true, token: null }))).toEqual(expect.arrayContaining([root.pid, gc]));
  });

  it('one that left the group and lost its parent: by the token in its environment', async () => {
    const root = spawnRoot(process.execPath, [FAMILY, 'orphan'], { ...process.env, [RUN_TOKEN_ENV]: 'tok-1' });
    const tree = new SpawnedTree(root.pid, { group: true, token: 'tok-1' });
    const gc = await grandchild(root);
    await waitFor(() => readProcEntry(gc)?.ppid !== root.pid, 'the root to exit');
    expect(pidsOf(tree)).toEqual([gc]);
    expect(pidsOf(new SpawnedTree(root.pid, { group: true, token: 'another-run' }))).toEqual([]);
  });

  it('one that also cleared its environment: because run placed it in the tree when it listened', async () => {
    const root = spawnRoot(process.execPath, [FAMILY, 'orphan', '--clean-env'], { ...process.env, [RUN_TOKEN_ENV]: 'tok-2' });
    const treeKnowing = (known: { pid: number; startTime: string }[]): SpawnedTree =>
      new SpawnedTree(root.pid, { group: true, token: 'tok-2', known: () => known });
    const gc = await grandchild(root);
    await waitFor(() => readProcEntry(gc)?.ppid !== root.pid, 'the root to exit');
    expect(pidsOf(treeKnowing([]))).toEqual([]);
    expect(pidsOf(treeKnowing([{ pid: gc, startTime: readProcEntry(gc)?.startTime ?? '' }]))).toEqual([gc]);
    expect(pidsOf(treeKnowing([{ pid: gc, startTime: '1' }]))).toEqual([]); // the same pid, another process
  });

  it('never a process started by someone else meanwhile, nor portwatch itself', async () => {
    const root = spawnRoot(process.execPath, [FAMILY, 'tree']);
    const tree = new SpawnedTree(root.pid, { group: true, token: null });
    await grandchild(root);
    const other = spawnRoot(process.execPath, [FAMILY, 'listen']); // newer than the root, not in its tree
    await grandchild(other);
    const members = pidsOf(tree);
    expect(members).toHaveLength(2);
    expect(members).not.toContain(other.pid);
    expect(members).not.toContain(process.pid);
    await tree.stop(5_000);
    expect(gone(other.pid)).toBe(false);
  });
});

describe('SpawnedTree: stopping it', () => {
  it('SIGTERM to the whole group and to those that left it; done as soon as all are gone', async () => {
    const root = spawnRoot(process.execPath, [FAMILY, 'escape']);
    const tree = new SpawnedTree(root.pid, { group: true, token: null });
    const gc = await grandchild(root);
    const started = Date.now();
    expect(await tree.stop(10_000)).toEqual([]);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(gone(root.pid)).toBe(true);
    expect(gone(gc)).toBe(true);
    expect(await waitFor(() => root.child.signalCode, 'the exit of the root')).toBe('SIGTERM');
  });

  it('SIGKILL after the grace period to what ignores SIGTERM', async () => {
    const root = spawnRoot(process.execPath, [FAMILY, 'tree', '--ignore-term']);
    const tree = new SpawnedTree(root.pid, { group: true, token: null });
    const gc = await grandchild(root);
    const started = Date.now();
    expect(await tree.stop(600)).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(600);
    expect(root.lines).toContain('gc ignored SIGTERM');
    expect(gone(gc)).toBe(true);
    expect(gone(root.pid)).toBe(true);
  });

  it('remembers a member that left the group once its parent is gone: SIGKILL reaches it too', async () => {
    const root = spawnRoot(process.execPath, [FAMILY, 'escape', '--ignore-term']);
    const tree = new SpawnedTree(root.pid, { group: true, token: null });
    const gc = await grandchild(root);
    const started = Date.now();
    expect(await tree.stop(600)).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(600);
    expect(root.lines).toContain('gc ignored SIGTERM');
    expect(root.child.signalCode ?? (await waitFor(() => root.child.signalCode, 'the exit of the root'))).toBe('SIGTERM');
    expect(gone(gc)).toBe(true);
  });

  it('hurry() cuts the grace period short; stop() twice is one stop', async () => {
    const root = spawnRoot(process.execPath, [FAMILY, 'tree', '--ignore-term']);
    const tree = new SpawnedTree(root.pid, { group: true, token: null });
    const gc = await grandchild(root);
    const started = Date.now();
    const stopping = tree.stop(60_000);
    expect(tree.stop(1)).toBe(stopping);
    await waitFor(() => root.lines.includes('gc ignored SIGTERM'), 'SIGTERM to arrive');
    tree.hurry();
    expect(await stopping).toEqual([]);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(gone(gc)).toBe(true);
  });

  it('killNow() (the exit handler) SIGKILLs everything without waiting', async () => {
    const root = spawnRoot(process.execPath, [FAMILY, 'escape']);
    const tree = new SpawnedTree(root.pid, { group: true, token: null });
    const gc = await grandchild(root);
    tree.killNow();
    await waitFor(() => gone(gc) && gone(root.pid), 'both to die', 5_000);
    expect(await waitFor(() => root.child.signalCode, 'the exit of the root')).toBe('SIGKILL');
  });
});
