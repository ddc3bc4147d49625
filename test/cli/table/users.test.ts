import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { parsePasswd, readPasswd, userNames } from '../../../src/cli/table/users.js';

const FIXTURE = new URL('../../fixtures/passwd/passwd', import.meta.url);
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('parsePasswd', () => {
  it('maps uids to names; the first entry of a uid wins; comments, NIS and malformed lines are skipped', () => {
    const names = parsePasswd(readFileSync(FIXTURE, 'utf8'));
    expect([...names]).toEqual([
      [0, 'root'],
      [1, 'daemon'],
      [105, 'postgres'],
      [1000, 'dev'],
      [65534, 'nobody'],
    ]);
  });

  it('never throws, whatever the text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        for (const [uid, name] of parsePasswd(text)) {
          expect(Number.isSafeInteger(uid)).toBe(true);
          expect(name).not.toBe('');
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('userNames', () => {
  it('reads once, on first use, and shows unknown uids as numbers', () => {
    let reads = 0;
    const name = userNames(() => {
      reads++;
      return 'root:x:0:0::/:/bin/sh\n';
    });
    expect(reads).toBe(0);
    expect([name(0), name(4242), name(0)]).toEqual(['root', '4242', 'root']);
    expect(reads).toBe(1);
  });

  it('an unreadable file gives numbers', () => {
    expect(userNames(() => null)(0)).toBe('0');
    expect(readPasswd('/nonexistent/passwd')).toBeNull();
  });

  it('reads at most the bound, and only whole lines of it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'portwatch-passwd-'));
    dirs.push(dir);
    const file = join(dir, 'passwd');
    writeFileSync(file, 'alice:x:1001:1001::/:/bin/sh\nbob:x:1002:1002::/:/bin/sh\n');
    expect(readPasswd(file, 40)).toBe('alice:x:1001:1001::/:/bin/sh\n');
    expect(readPasswd('/dev/zero', 1024)).toBe('');
  });
});
