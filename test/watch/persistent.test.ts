import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

// The package imports itself by name, as users and the project's own scripts do.
const root = new URL('../..', import.meta.url).pathname;
const entry = 'portwatch';

describe('watch() and the Node.js event loop', () => {
  it('does not keep the process alive unless asked', () => {
    const r = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', `import { watch } from '${entry}'; const w = watch(); w.on('ready', () => console.log('ready'));`],
      {
        encoding: 'utf8',
        timeout: 20_000,
      },
    );
    expect(r.signal).toBeNull(); // it exited on its own, before the timeout
    expect(r.status).toBe(0);
  });

  it('keeps the process alive with persistent: true until closed', () => {
    const script = `import { watch } from '${entry}';
      const w = watch({ persistent: true });
      w.on('ready', (ls) => { console.log('ready', Array.isArray(ls)); setTimeout(() => w.close().then(() => console.log('closed')), 300); });`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('ready true\nclosed\n');
  });
});
