/**
 * The CLI tests run the built command exactly as users do (`node dist/cli/main.js`), so
 * the TypeScript build runs once before any test. Type errors are `npm run typecheck`'s job
 * (CI runs it first): tsc still writes dist/ when it finds some, so they are reported here
 * and the tests go on; a build that wrote nothing stops the run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const tsc = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));
  const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    if (!existsSync(new URL('../dist/cli/main.js', import.meta.url))) throw new Error('the TypeScript build wrote no dist/cli/main.js');
    console.warn('global setup: tsc reported errors (above); testing what it emitted');
  }
}
