import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PortwatchError } from '../../src/errors.js';
import { findConfigFile, loadRules } from '../../src/rules/load.js';
import { listener } from './make-listener.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function project(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'portwatch-rules-'));
  dirs.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

const label = (port: number) => ({ label: [{ port, label: `L${port}` }] });

describe('finding the config file', () => {
  it('uses portwatch.json in the working directory', () => {
    const root = project({ 'portwatch.json': JSON.stringify(label(1)) });
    expect(findConfigFile(root)).toBe(join(root, 'portwatch.json'));
    const rules = loadRules({ cwd: root });
    expect(rules.file).toBe(join(root, 'portwatch.json'));
    expect(rules.label(listener({ port: 1 }))).toBe('L1');
  });

  it('prefers portwatch.json, then .devcontainer/devcontainer.json, then .devcontainer.json', () => {
    const dc = JSON.stringify({ portsAttributes: { '2': { label: 'dc' } } });
    const all = project({ 'portwatch.json': '{}', '.devcontainer/devcontainer.json': dc, '.devcontainer.json': dc });
    expect(findConfigFile(all)).toBe(join(all, 'portwatch.json'));
    const two = project({ '.devcontainer/devcontainer.json': dc, '.devcontainer.json': '{}' });
    expect(findConfigFile(two)).toBe(join(two, '.devcontainer/devcontainer.json'));
    expect(loadRules({ cwd: two }).label(listener({ port: 2 }))).toBe('dc');
    const one = project({ '.devcontainer.json': dc });
    expect(findConfigFile(one)).toBe(join(one, '.devcontainer.json'));
  });

  it('looks in parent directories, and the nearest file wins', () => {
    const root = project({ 'portwatch.json': JSON.stringify(label(1)), 'a/b/c/.keep': '', 'a/portwatch.json': JSON.stringify(label(2)) });
    expect(findConfigFile(join(root, 'a/b/c'))).toBe(join(root, 'a/portwatch.json'));
    expect(loadRules({ cwd: join(root, 'a/b/c') }).label(listener({ port: 2 }))).toBe('L2');
  });

  it('a directory named portwatch.json is not a config file', () => {
    const root = project({ 'portwatch.json/x': '' });
    expect(findConfigFile(root)).not.toBe(join(root, 'portwatch.json'));
  });

  it('discover: false and no file: only the implicit rules', () => {
    const root = project({ 'portwatch.json': '{ broken' });
    const rules = loadRules({ cwd: root, discover: false });
    expect(rules.file).toBeNull();
    expect(rules.label(listener())).toBeNull();
    expect(rules.describe()).toBe("no config file; PORTWATCH_IGNORE processes ignored; portwatch's own listeners ignored");
  });
});

describe('--config FILE', () => {
  it('is read relative to cwd and named as given in messages', () => {
    const root = project({ 'conf/pw.json': '{ "ignore": [{ "port": 0 }] }' });
    expect(() => loadRules({ cwd: root, configPath: 'conf/pw.json' })).toThrow(
      new PortwatchError('EUSAGE', 'conf/pw.json: ignore[0].port: invalid port 0: use a number from 1 to 65535'),
    );
  });

  it('must exist, be a file and be readable', () => {
    const root = project({ 'dir/x': '', 'secret.json': '{}' });
    expect(() => loadRules({ cwd: root, configPath: 'missing.json' })).toThrow(new PortwatchError('EUSAGE', 'missing.json: no such file'));
    expect(() => loadRules({ cwd: root, configPath: 'dir' })).toThrow(
      new PortwatchError('EUSAGE', 'dir: is a directory, not a config file'),
    );
    if (process.getuid?.() !== 0) {
      chmodSync(join(root, 'secret.json'), 0);
      expect(() => loadRules({ cwd: root, configPath: 'secret.json' })).toThrow(
        new PortwatchError('EUSAGE', 'secret.json: cannot be read: permission denied'),
      );
    }
  });

  it('refuses files over 1 MiB', () => {
    const root = project({ 'big.json': `{"ignore": [], "label": [], "$schema": "${'x'.repeat(1024 * 1024)}"}` });
    expect(() => loadRules({ cwd: root, configPath: 'big.json' })).toThrow(new PortwatchError('EUSAGE', 'big.json: is larger than 1 MiB'));
  });

  it('takes precedence over a file that would be found', () => {
    const root = project({ 'portwatch.json': JSON.stringify(label(1)), 'other.json': JSON.stringify(label(2)) });
    const rules = loadRules({ cwd: root, configPath: 'other.json' });
    expect(rules.file).toBe('other.json');
    expect(rules.label(listener({ port: 1 }))).toBeNull();
    expect(rules.label(listener({ port: 2 }))).toBe('L2');
  });
});
