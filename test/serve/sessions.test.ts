import { describe, expect, it } from 'vitest';
import { DASHBOARD_COOKIE, SessionStore, TicketLedger } from '../../src/serve/sessions.js';

describe('SessionStore', () => {
  it('ids are random, 256 bits, and open only what they were issued for, on the host they were issued for', () => {
    const store = new SessionStore();
    const a = store.create('localhost:4040', 'dashboard');
    const b = store.create('localhost:4040', 'dashboard');
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(b);
    expect(store.check([a], 'localhost:4040', 'dashboard')).toBe(true);
    expect(store.check([a], 'localhost:4041', 'dashboard')).toBe(false);
    expect(store.check([a], 'p3000.localhost:4040', 'dashboard')).toBe(false);
    expect(store.check([a], 'localhost:4040', { port: 3000 })).toBe(false);
    const p = store.create('p3000.localhost:4040', { port: 3000 });
    expect(store.check([p], 'p3000.localhost:4040', { port: 3000 })).toBe(true);
    expect(store.check([p], 'p3000.localhost:4040', { port: 3001 })).toBe(false);
    expect(store.check([p], 'localhost:4040', 'dashboard')).toBe(false);
  });

  it('accepts a header when any of its values is a live session (a page may add a same-named cookie)', () => {
    const store = new SessionStore();
    const id = store.create('h:1', 'dashboard');
    expect(store.check(['forged', 'x'.repeat(43), id], 'h:1', 'dashboard')).toBe(true);
    expect(store.check(['forged'], 'h:1', 'dashboard')).toBe(false);
    expect(store.check([], 'h:1', 'dashboard')).toBe(false);
  });

  it('ends sessions idle too long, and every session at its maximum age however used', () => {
    let now = 1_000_000;
    const store = new SessionStore({ idleMs: 1_000, maxAgeMs: 5_000, now: () => now });
    const id = store.create('h:1', 'dashboard');
    for (let i = 0; i < 4; i++) {
      now += 900;
      expect(store.check([id], 'h:1', 'dashboard')).toBe(true);
    }
    now += 900; // 4,500 ms after sign-in, used 900 ms ago
    expect(store.check([id], 'h:1', 'dashboard')).toBe(true);
    now += 600; // past the maximum age
    expect(store.check([id], 'h:1', 'dashboard')).toBe(false);
    const idle = store.create('h:1', 'dashboard');
    now += 1_001;
    expect(store.check([idle], 'h:1', 'dashboard')).toBe(false);
    expect(store.size).toBe(0);
  });

  it('keeps at most maxSessions, dropping the least recently used', () => {
    const store = new SessionStore({ maxSessions: 2 });
    const a = store.create('h:1', 'dashboard');
    const b = store.create('h:1', 'dashboard');
    expect(store.check([a], 'h:1', 'dashboard')).toBe(true); // a is now the most recent
    const c = store.create('h:1', 'dashboard');
    expect(store.size).toBe(2);
    expect(store.check([b], 'h:1', 'dashboard')).toBe(false);
    expect(store.check([a], 'h:1', 'dashboard')).toBe(true);
    expect(store.check([c], 'h:1', 'dashboard')).toBe(true);
  });

  it('a new store (a restart) knows no session; clear() ends all', () => {
    const store = new SessionStore();
    const id = store.create('h:1', 'dashboard');
    expect(new SessionStore().check([id], 'h:1', 'dashboard')).toBe(false);
    store.clear();
    expect(store.check([id], 'h:1', 'dashboard')).toBe(false);
  });

  it('the cookie is host-only, HttpOnly, SameSite=Lax and holds only the id', () => {
    const store = new SessionStore({ maxAgeMs: 3_600_000 });
    const id = store.create('h:1', 'dashboard');
    expect(store.cookie(DASHBOARD_COOKIE, id)).toBe(`portwatch_session=${id}; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax`);
  });
});

describe('TicketLedger', () => {
  it('lets each ticket sign in once, and forgets expired ones', () => {
    const ledger = new TicketLedger();
    expect(ledger.claim('n1', 2_000, 1_000)).toBe(true);
    expect(ledger.claim('n1', 2_000, 1_500)).toBe(false);
    expect(ledger.claim('n2', 2_000, 1_500)).toBe(true);
  });
});
