import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cgroupSuggestsContainer, detectContainer, netnsOf, processExists } from '../src/namespaces.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function fakeRoot(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'portwatch-root-'));
  dirs.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return `${root}/`;
}

describe('container detection', () => {
  it('reads /.dockerenv, /run/.containerenv and cgroup hints', () => {
    expect(detectContainer(fakeRoot({ '.dockerenv': '' }))).toEqual({ inContainer: true, evidence: '/.dockerenv' });
    expect(detectContainer(fakeRoot({ 'run/.containerenv': '' }))).toEqual({ inContainer: true, evidence: '/run/.containerenv' });
    const saved = process.env.container;
    delete process.env.container;
    try {
      expect(detectContainer(fakeRoot({ 'proc/1/cgroup': '0::/kubepods/besteffort/pod1/abc\n' }))).toEqual({
        inContainer: true,
        evidence: 'cgroup',
      });
      expect(detectContainer(fakeRoot({ 'proc/1/cgroup': '0::/init.scope\n' }))).toEqual({ inContainer: false, evidence: null });
    } finally {
      if (saved !== undefined) process.env.container = saved;
    }
  });

  it('recognises container runtimes in cgroup paths', () => {
    expect(cgroupSuggestsContainer('12:pids:/docker/0123abcd')).toBe(true);
    expect(cgroupSuggestsContainer('0::/system.slice/libpod-0123.scope')).toBe(true);
    expect(cgroupSuggestsContainer('0::/user.slice/user-1000.slice')).toBe(false);
  });
});

describe('network namespaces', () => {
  it('names our own namespace by inode', () => {
    expect(netnsOf()).toMatch(/^\d+$/);
    expect(netnsOf(process.pid)).toBe(netnsOf());
    expect(netnsOf(2 ** 22 + 99)).toBeNull();
  });
  it('knows which pids exist', () => {
    expect(processExists(process.pid)).toBe(true);
    expect(processExists(2 ** 22 + 99)).toBe(false);
    expect(processExists(-1)).toBe(false);
  });
});
