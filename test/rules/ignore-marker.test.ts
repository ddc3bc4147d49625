import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { environHasIgnoreMarker, IgnoreMarker, isMarkerValue, MAX_ANCESTRY } from '../../src/rules/ignore-marker.js';
import { loadRules } from '../../src/rules/load.js';
import { environValue, procReader } from '../../src/rules/proc.js';
import { scan } from '../../src/scan.js';
import { fakeProc, type FakeProc } from '../helpers/fake-proc.js';
import { holdSockets, stopAll } from '../helpers/processes.js';
import { startTree, stopTrees } from './marked-tree.js';

const env = (...vars: string[]): Buffer => Buffer.from(vars.map((v) => `${v}\0`).join(''));

describe('environ parsing', () => {
  it('finds a variable at the start, in the middle and at the end (with or without the last NUL)', () => {
    expect(environValue(env('PORTWATCH_IGNORE=1', 'A=b'), 'PORTWATCH_IGNORE')).toBe('1');
    expect(environValue(env('A=b', 'PORTWATCH_IGNORE=yes', 'C=d'), 'PORTWATCH_IGNORE')).toBe('yes');
    expect(environValue(Buffer.from('A=b\0PORTWATCH_IGNORE=1'), 'PORTWATCH_IGNORE')).toBe('1');
    expect(environValue(env('A=b'), 'PORTWATCH_IGNORE')).toBeNull();
    expect(environValue(Buffer.alloc(0), 'PORTWATCH_IGNORE')).toBeNull();
  });

  it('matches whole names only, and the first occurrence wins', () => {
    expect(environValue(env('XPORTWATCH_IGNORE=1', 'PORTWATCH_IGNORED=1'), 'PORTWATCH_IGNORE')).toBeNull();
    expect(environValue(env('A=PORTWATCH_IGNORE=1'), 'PORTWATCH_IGNORE')).toBeNull();
    expect(environValue(env('PORTWATCH_IGNORE=0', 'PORTWATCH_IGNORE=1'), 'PORTWATCH_IGNORE')).toBe('0');
  });

  it('1 (or any value but empty, 0, false, no, off) marks', () => {
    for (const v of ['1', 'true', 'YES', 'on', 'anything']) expect(isMarkerValue(v)).toBe(true);
    for (const v of ['', '0', 'false', 'No', ' off ', null]) expect(isMarkerValue(v)).toBe(false);
    expect(environHasIgnoreMarker(env('PORTWATCH_IGNORE=1'))).toBe(true);
    expect(environHasIgnoreMarker(env('PORTWATCH_IGNORE=0'))).toBe(false);
  });

  it('agrees with a straightforward split for any environment', () => {
    const entry = fc.tuple(
      fc.constantFrom('A', 'PORTWATCH_IGNORE', 'PORTWATCH_IGNOREX', 'B_PORTWATCH_IGNORE'),
      fc.string({ maxLength: 5 }),
    );
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 6 }), (entries) => {
        const block = Buffer.from(entries.map(([k, v]) => `${k}=${v.replace(/\0/g, '')}\0`).join(''));
        const first = entries.find(([k]) => k === 'PORTWATCH_IGNORE');
        expect(environValue(block, 'PORTWATCH_IGNORE')).toBe(first ? first[1].replace(/\0/g, '') : null);
      }),
    );
  });
});

/** A literal process table: pid → [ppid, start time, environment]. */
function table(rows: Record<number, [number, string, string[]]>): FakeProc & { readonly environReads: number } {
  const proc = fakeProc(Object.fromEntries(Object.entries(rows).map(([pid, [ppid, startTime, env]]) => [pid, { ppid, startTime, env }])));
  return Object.defineProperty(proc, 'environReads', { get: () => proc.reads.environ ?? 0 }) as FakeProc & {
    readonly environReads: number;
  };
}

describe('IgnoreMarker: the process or any ancestor', () => {
  const rows: Record<number, [number, string, string[]]> = {
    1: [0, '1', []],
    100: [1, '10', ['HOME=/root']], // a shell
    200: [100, '20', ['PORTWATCH_IGNORE=1']], // the agent's tool runner
    300: [200, '30', []], // env -i: scrubbed
    400: [300, '40', ['A=b']], // its child listens
    500: [100, '50', ['PORTWATCH_IGNORE=0']],
  };

  it('marks the marked process and every descendant, even with a scrubbed environment', () => {
    const m = new IgnoreMarker(table(rows));
    expect(m.isIgnored(200)).toBe(true);
    expect(m.isIgnored(300)).toBe(true);
    expect(m.isIgnored(400)).toBe(true);
    expect(m.isIgnored(100)).toBe(false);
    expect(m.isIgnored(500)).toBe(false);
    expect(m.isIgnored(999)).toBe(false); // gone
  });

  it('reads each environment once per process, and again for a reused pid', () => {
    const reader = table({ ...rows });
    const m = new IgnoreMarker(reader);
    m.isIgnored(400);
    const reads = reader.environReads;
    m.isIgnored(400);
    m.isIgnored(300);
    expect(reader.environReads).toBe(reads);
    const reused = table({ ...rows, 200: [100, '99', []] }); // pid 200 is now another process
    const m2 = new IgnoreMarker(reused);
    expect(m2.isIgnored(400)).toBe(false);
  });

  it('is bounded on cycles and very deep chains', () => {
    expect(new IgnoreMarker(table({ 7: [8, '1', []], 8: [7, '1', []] })).isIgnored(7)).toBe(false);
    const deep: Record<number, [number, string, string[]]> = { 1: [0, '1', ['PORTWATCH_IGNORE=1']] };
    for (let pid = 2; pid < MAX_ANCESTRY + 10; pid++) deep[pid] = [pid - 1, '1', []];
    const r = table(deep);
    expect(new IgnoreMarker(r).isIgnored(MAX_ANCESTRY + 9)).toBe(false); // cut before reaching the marked root
    expect(r.environReads).toBe(MAX_ANCESTRY);
  });
});

describe('PORTWATCH_IGNORE on real processes', () => {
  afterEach(async () => {
    await stopTrees();
    await stopAll();
  });

  const listenerOn = async (port: number) => {
    const { listeners } = await scan();
    const found = listeners.find((l) => l.port === port && l.protocol === 'tcp');
    if (!found) throw new Error(`no listener on ${port}`);
    return found;
  };

  it('ignores a marked process, and the child of a marked process whose environment was scrubbed', async () => {
    const direct = await startTree({ ...process.env, PORTWATCH_IGNORE: '1' }, { scrub: false });
    const inherited = await startTree({ ...process.env, PORTWATCH_IGNORE: '1' }, { scrub: true });
    const unmarked = await holdSockets([{ proto: 'tcp', host: '127.0.0.1' }]);
    const off = await startTree({ ...process.env, PORTWATCH_IGNORE: '0' }, { scrub: false });
    expect(procReader().environ(inherited.holderPid)?.includes('PORTWATCH_IGNORE')).toBe(false); // only the ancestry says it

    const rules = loadRules({ discover: false });
    const why = async (port: number) => rules.whyIgnored(await listenerOn(port));
    expect(await why(direct.port)).toBe('PORTWATCH_IGNORE is set for the process or an ancestor');
    expect(await why(inherited.port)).toBe('PORTWATCH_IGNORE is set for the process or an ancestor');
    expect(await why(unmarked.ports[0] as number)).toBeNull();
    expect(await why(off.port)).toBeNull();

    const all = loadRules({ discover: false, all: true });
    expect(all.filter(await listenerOn(direct.port))).toBe(true);
    const unaware = loadRules({ discover: false, ignoreMarked: false });
    expect(unaware.filter(await listenerOn(inherited.port))).toBe(true);
  });

  it("ignores this process's own listeners", async () => {
    const net = await import('node:net');
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as { port: number }).port;
      const l = await listenerOn(port);
      expect(l.process?.pid).toBe(process.pid);
      expect(loadRules({ discover: false }).whyIgnored(l)).toBe("portwatch's own listener");
      expect(loadRules({ discover: false, ignoreOwn: false }).filter(l)).toBe(true);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
