import { describe, expect, it } from 'vitest';
import { Sweep } from '../../src/engine/host-sweep.js';

const policy = { budget: 0.01, readEveryMs: 30_000, hotMs: 5_000 };
const names = (n: number): string[] => Array.from({ length: n }, (_, i) => String(4026532000 + i));

describe('sweep over namespaces within a CPU budget', () => {
  it('spends only what the budget accrued, and gets round every namespace in turn', () => {
    const sweep = new Sweep({ ...policy, readEveryMs: 3_600_000 });
    const all = names(50);
    sweep.setNamespaces(all, 0);
    sweep.accrue(0);
    const seen = new Set<string>();
    for (let t = 100; t <= 2_000; t += 100) {
      expect(sweep.accrue(t)).toBeLessThanOrEqual(2 * 1000 * 0.01); // the bucket holds two seconds' worth
      const looks = sweep.plan(t, () => true);
      // 1 ms accrued per 100 ms tick, probes priced at 0.03 ms: 33 probes at most.
      expect(looks.length).toBeLessThanOrEqual(34);
      for (const l of looks) {
        expect(l.kind).toBe('probe');
        seen.add(l.netns);
      }
      sweep.spend(looks.length * 0.03);
    }
    expect(seen).toEqual(new Set(all));
  });

  it('looks at hot namespaces first, and reads what cannot be probed', () => {
    const sweep = new Sweep(policy);
    sweep.setNamespaces(names(10), 0);
    sweep.accrue(0);
    sweep.accrue(50);
    sweep.heat('4026532007', 50);
    const looks = sweep.plan(50, (n) => n !== '4026532003');
    expect(looks[0]).toEqual({ netns: '4026532007', kind: 'probe' });
    expect(looks.find((l) => l.netns === '4026532003')?.kind).toBe('read');
    expect(looks.filter((l) => l.netns === '4026532007')).toHaveLength(1);
  });

  it('reads each namespace now and then, since equal counts do not prove nothing changed', () => {
    const sweep = new Sweep(policy);
    sweep.setNamespaces(['a', 'b'], 0);
    sweep.accrue(0);
    sweep.accrue(1_000);
    expect(sweep.plan(1_000, () => true).map((l) => l.kind)).toEqual(['probe', 'probe']);
    sweep.wasRead('a', 20_000);
    sweep.accrue(31_000);
    const looks = sweep.plan(31_000, () => true);
    expect(looks.find((l) => l.netns === 'a')?.kind).toBe('probe');
    expect(looks.find((l) => l.netns === 'b')?.kind).toBe('read');
  });

  it('the periodic reads are staggered: a few at a time, not every namespace at once', () => {
    const sweep = new Sweep(policy);
    const all = names(300);
    sweep.setNamespaces(all, 0);
    sweep.accrue(0);
    const readsPerSecond: number[] = [];
    for (let t = 1_000; t <= 30_000; t += 1_000) {
      sweep.accrue(t);
      const reads = sweep.plan(t, () => true).filter((l) => l.kind === 'read');
      for (const r of reads) sweep.wasRead(r.netns, t);
      sweep.spend(sweep.accrue(t));
      readsPerSecond.push(reads.length);
    }
    // 300 namespaces due within 30 s: spread over the seconds, not all due in the same one.
    expect(readsPerSecond.filter((n) => n > 0).length).toBeGreaterThanOrEqual(20);
    expect(Math.max(...readsPerSecond)).toBeLessThan(40);
  });

  it('a namespace whose reads are dear may not take more than its share: it waits, and is read later', () => {
    const sweep = new Sweep(policy);
    sweep.setNamespaces(['busy', 'quiet'], 0);
    sweep.wasRead('busy', 0, 5); // 5 ms a read: at 1 % and a quarter share, once every 2 s
    expect(sweep.mayRead('busy', 500)).toBe(false);
    expect(sweep.mayRead('quiet', 500)).toBe(true);
    sweep.accrue(0);
    sweep.accrue(2_000);
    expect(sweep.plan(2_000, () => true)[0]).toEqual({ netns: 'busy', kind: 'read' });
  });

  it('after an expensive tick the next ones wait until the debt is paid', () => {
    const sweep = new Sweep(policy);
    sweep.setNamespaces(names(3), 0);
    sweep.accrue(0);
    sweep.accrue(100);
    sweep.spend(5);
    expect(sweep.plan(100, () => true)).toEqual([]);
    sweep.accrue(450); // 1 − 5 + 3.5: still 0.5 ms in debt
    expect(sweep.plan(450, () => true)).toEqual([]);
    sweep.accrue(700);
    expect(sweep.plan(700, () => true).length).toBeGreaterThan(0);
  });
});
