/**
 * Browser sessions of `portwatch serve`, kept on the server: a random id per sign-in, bound
 * to the Host it was issued for and to what it opens (the dashboard, or one proxied port),
 * expiring when idle and at a maximum age, and gone when serve restarts. A cookie holds only
 * the id, so a cookie that leaks (cookies ignore ports: an app on p3002.localhost:3002 is sent
 * the cookie of p3002.localhost:4040) opens nothing but what it was issued for.
 */
import { randomBytes } from 'node:crypto';
import { SESSION_COOKIE } from './security.js';

/** The dashboard's cookie (host-only, on the dashboard's host). */
export const DASHBOARD_COOKIE = SESSION_COOKIE;
/** The cookie of a proxied host (p<PORT>.localhost): opens only that port. */
export const PROXY_COOKIE = 'portwatch_proxy_session';

/** What a session opens: the dashboard and API, or the proxy to one port. */
export type SessionScope = 'dashboard' | { port: number };

interface Session {
  host: string;
  scope: string;
  created: number;
  lastSeen: number;
}

export interface SessionStoreOptions {
  /** A session unused this long ends (default 24 h). */
  idleMs?: number;
  /** A session ends this long after sign-in, used or not (default 7 days). */
  maxAgeMs?: number;
  /** Sessions kept at most; the least recently used go first (default 10,000). */
  maxSessions?: number;
  now?: () => number;
}

const ID = /^[A-Za-z0-9_-]{43}$/;

function scopeKey(scope: SessionScope): string {
  return scope === 'dashboard' ? 'dashboard' : `port:${scope.port}`;
}

export class SessionStore {
  private readonly sessions = new Map<string, Session>();
  private readonly idleMs: number;
  readonly maxAgeMs: number;
  private readonly maxSessions: number;
  private readonly now: () => number;

  constructor(options: SessionStoreOptions = {}) {
    this.idleMs = options.idleMs ?? 24 * 3600_000;
    this.maxAgeMs = options.maxAgeMs ?? 7 * 24 * 3600_000;
    this.maxSessions = options.maxSessions ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.sessions.size;
  }

  /** A new session id (256 random bits) for `host` (the Host header as the browser sent it). */
  create(host: string, scope: SessionScope): string {
    const now = this.now();
    this.sweep(now);
    while (this.sessions.size >= this.maxSessions) {
      const oldest = this.sessions.keys().next().value as string;
      this.sessions.delete(oldest);
    }
    const id = randomBytes(32).toString('base64url');
    this.sessions.set(id, { host, scope: scopeKey(scope), created: now, lastSeen: now });
    return id;
  }

  /** True when one of `ids` is a live session issued for this host and scope; that session is kept alive. */
  check(ids: readonly string[], host: string, scope: SessionScope): boolean {
    const now = this.now();
    const key = scopeKey(scope);
    for (const id of ids) {
      if (!ID.test(id)) continue;
      const s = this.sessions.get(id);
      if (!s) continue;
      if (now - s.lastSeen > this.idleMs || now - s.created > this.maxAgeMs) {
        this.sessions.delete(id);
        continue;
      }
      if (s.host !== host || s.scope !== key) continue;
      s.lastSeen = now;
      // Re-insert so that iteration order is least recently used first.
      this.sessions.delete(id);
      this.sessions.set(id, s);
      return true;
    }
    return false;
  }

  /** Ends every session (e.g. when the token changes). */
  clear(): void {
    this.sessions.clear();
  }

  private sweep(now: number): void {
    for (const [id, s] of this.sessions) {
      if (now - s.lastSeen > this.idleMs || now - s.created > this.maxAgeMs) this.sessions.delete(id);
    }
  }

  /** Set-Cookie for a session: host-only, HttpOnly, SameSite=Lax (top-level links from elsewhere still sign in). */
  cookie(name: string, id: string): string {
    return `${name}=${id}; Path=/; Max-Age=${Math.floor(this.maxAgeMs / 1000)}; HttpOnly; SameSite=Lax`;
  }
}

/** Remembers single-use tickets until they expire, so that each signs in once. */
export class TicketLedger {
  private readonly used = new Map<string, number>();

  /** True the first time a nonce is seen; false after. */
  claim(nonce: string, expires: number, now = Date.now()): boolean {
    for (const [n, exp] of this.used) if (exp < now) this.used.delete(n);
    if (this.used.has(nonce)) return false;
    this.used.set(nonce, expires);
    return true;
  }
}
