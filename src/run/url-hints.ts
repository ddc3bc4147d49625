/**
 * Hints in a command's output that it just started listening: URLs such as
 * `http://localhost:5173/` (also when coloured, as Vite prints them), `host:port` pairs
 * and "listening on port 3000" phrases. A hint only makes `run` look at the socket table
 * again at once; output alone never reports a port.
 *
 * Pure: text in, hints out. HintScanner handles output that arrives in arbitrary chunks.
 */

export interface PortHint {
  host: string | null;
  port: number;
}

// CSI and OSC escape sequences (colours, hyperlinks), and lone ESC-x pairs.
// eslint-disable-next-line no-control-regex
const ANSI_RE = /\u001b(?:\[[0-?]*[ -/]*[@-~]|\][^\u0007\u001b]*(?:\u0007|\u001b\\)|[@-Z\\-_])/g;

export function stripAnsi(text: string): string {
  return text.replace(ANSI_RE, '');
}

const URL_RE = /\b(https?|wss?):\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?(?![\d])/g;
const HOST_PORT_RE = /(?:^|[\s(=@"'])(localhost|(?:\d{1,3}\.){3}\d{1,3}|\[[0-9A-Fa-f:.]+\]|\*):(\d{1,5})\b/g;
const PHRASE_RE =
  /\b(?:listen(?:s|ing)?|running|serving|started|start(?:s|ing)?|ready|available|bound|open(?:ed)?)\b[^\n]{0,60}?\bport\b\s*[:=]?\s*(\d{1,5})\b/gi;

const DEFAULT_PORTS: Record<string, number> = { http: 80, ws: 80, https: 443, wss: 443 };

/** Hosts that can be this machine: loopback, wildcards, IP literals, `*.localhost`, our hostname. */
export function isLocalHost(host: string, hostname: string | null = null): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h.endsWith('.localhost') || h === '*') return true;
  if (/^(\d{1,3}\.){3}\d{1,3}$/.test(h) || (h.includes(':') && /^[0-9a-f:.]+$/.test(h))) return true;
  return hostname !== null && h === hostname.toLowerCase();
}

function validPort(text: string | undefined): number | null {
  if (text === undefined) return null;
  const n = Number(text);
  return Number.isInteger(n) && n >= 1 && n <= 65535 ? n : null;
}

interface Found {
  hint: PortHint;
  /** Offset just after the match in the ANSI-stripped text. */
  end: number;
}

function scan(plain: string, hostname: string | null): Found[] {
  const found: Found[] = [];
  const at = (m: RegExpMatchArray): number => (m.index ?? 0) + m[0].length;
  for (const m of plain.matchAll(URL_RE)) {
    const [, scheme, host] = m;
    if (scheme === undefined || host === undefined || !isLocalHost(host, hostname)) continue;
    const port = m[3] === undefined ? (DEFAULT_PORTS[scheme.toLowerCase()] ?? null) : validPort(m[3]);
    if (port !== null) found.push({ hint: { host, port }, end: at(m) });
  }
  for (const m of plain.matchAll(HOST_PORT_RE)) {
    const port = validPort(m[2]);
    if (port !== null) found.push({ hint: { host: m[1] ?? null, port }, end: at(m) });
  }
  for (const m of plain.matchAll(PHRASE_RE)) {
    const port = validPort(m[1]);
    if (port !== null) found.push({ hint: { host: null, port }, end: at(m) });
  }
  return found;
}

function unique(hints: PortHint[], seen = new Set<string>()): PortHint[] {
  return hints.filter((h) => {
    const key = `${h.host ?? ''}|${h.port}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Every hint in a piece of text (ANSI escapes are ignored). */
export function findHints(text: string, hostname: string | null = null): PortHint[] {
  return unique(scan(stripAnsi(text), hostname).map((f) => f.hint));
}

/** The longest line kept while waiting for its end; longer lines are scanned in pieces. */
export const MAX_PENDING_LINE = 4096;
/** A hint in an unfinished line counts once a character that cannot continue it follows. */
const TERMINATOR_RE = /[^0-9A-Za-z:._-]/;

/**
 * Feeds chunks of output; hints come out as soon as they are certainly complete: at the end
 * of a line, or in an unfinished line once something follows them (a server that prints
 * "ready at http://localhost:3000/ " and no newline is still heard).
 */
export class HintScanner {
  private pending = '';
  /** Hints already given from the unfinished line, not to be given again when it ends. */
  private givenFromPending = new Set<string>();

  constructor(private readonly hostname: string | null = null) {}

  push(chunk: string): PortHint[] {
    const text = this.pending + chunk;
    const cut = Math.max(text.lastIndexOf('\n'), text.lastIndexOf('\r')) + 1;
    let complete = text.slice(0, cut);
    this.pending = text.slice(cut);
    if (this.pending.length > MAX_PENDING_LINE) {
      // A very long line without an end: scan what we have, keep a tail a URL may continue from.
      complete += this.pending.slice(0, -256);
      this.pending = this.pending.slice(-256);
    }
    const out: PortHint[] = [];
    if (complete !== '') {
      out.push(...unique(findHints(complete, this.hostname)).filter((h) => !this.givenFromPending.has(`${h.host ?? ''}|${h.port}`)));
      this.givenFromPending = new Set();
    }
    const plain = stripAnsi(this.pending);
    const settled = scan(plain, this.hostname)
      .filter((f) => TERMINATOR_RE.test(plain[f.end] ?? ''))
      .map((f) => f.hint);
    out.push(...unique(settled, this.givenFromPending));
    return unique(out);
  }

  /** The last, unterminated line (at the end of output). */
  flush(): PortHint[] {
    const rest = this.pending;
    this.pending = '';
    const given = this.givenFromPending;
    this.givenFromPending = new Set();
    return findHints(rest, this.hostname).filter((h) => !given.has(`${h.host ?? ''}|${h.port}`));
  }
}
