import { setFlagsFromString } from 'node:v8';

/**
 * V8 flags the portwatch command sets for itself (the library leaves its host's flags alone).
 * V8 reads them as it goes, so setting them at run time takes effect.
 *
 * Watching (every command starts so; serve and forward go back to it when no bytes flow): a
 * young generation that does not grow, and an old generation whose collection starts 10 %
 * above what the last full collection kept. Under churn a watcher's listeners live about a
 * second, outlive two young-generation collections and die in the old generation; by default
 * V8 grows the young generation to 2 × 16 MB and lets the old one fill first. Incremental
 * marking stays on: it is what starts a full collection at that 10 %; without it the old
 * generation fills with dead listeners to V8's hard limit (old space peaked at 258 MB instead
 * of 20 MB in the test's churn). Churn of 500 listeners/s for 2 min, tracefs (`node
 * bench/busy-host.mjs --consumers '' --churn-consumers watch,serve --modes tracefs
 * --churn-s 120`, after flagsBeforeLoading): `watch --json` 63 → 71 → 74 MB, `serve` 67 → 84 →
 * 85 MB (start → 10 s → end). Before, by hand: `watch` 64 → 74–91 MB and rising with marking off,
 * 67 → 103 MB with V8's defaults; `serve` 72 → 194 MB at 58 %.
 *
 * Moving bytes (serve while a `forward URL` tunnel is open; forward while a connection is
 * copied in JavaScript, through a tunnel or where the addon cannot splice): V8's young
 * generation and heap growth, and no incremental marking. portwatch's heap is small (8–15 MB),
 * the size at which incremental marking runs back to back while sockets churn read buffers:
 * with it, the tunnel costs serve and forward 2.9–4.2 CPU s per GiB instead of 1.9–2.0, and
 * carries 400–580 MiB/s instead of 800–850 (bench/forward.mjs --paths serve;
 * bench/tunnel-profile.mjs --gc). Back to watching, marking and the 10 % limit apply at once;
 * the young generation keeps what it grew to (up to 2 × 16 MB) until V8 shrinks it when
 * allocation slows (20–25 s under a light load in a test script: new space 32 → 1 MB, RSS
 * 79 → 46 MB), and meanwhile more of what is allocated dies young.
 */
export type HeapMode = 'watching' | 'moving-bytes';

const FLAGS: Record<HeapMode, readonly string[]> = {
  watching: ['--incremental-marking', '--semi-space-growth-factor=1', '--heap-growing-percent=10'],
  // V8's defaults for the two the other mode sets (0: growth chosen by V8).
  'moving-bytes': ['--no-incremental-marking', '--semi-space-growth-factor=2', '--heap-growing-percent=0'],
};

/** The flags of a mode, to switch to it at run time. */
export function heapFlagsOf(mode: HeapMode): string[] {
  return [...FLAGS[mode]];
}

let current: HeapMode | null = null;

/** Sets the mode's flags (a no-op when it is the mode already); returns whether it switched. */
export function setHeapMode(mode: HeapMode): boolean {
  if (mode === current) return false;
  current = mode;
  for (const flag of FLAGS[mode]) setFlagsFromString(flag);
  return true;
}

/** Streams whose bytes go through JavaScript now, over the whole process (tunnels, JS relays). */
let moving = 0;

/**
 * A stream of bytes through JavaScript started (+1) or ended (-1): moving bytes while any is
 * open, watching once none is. Returns the mode switched to, or null when it did not switch.
 */
export function bytesMoving(delta: 1 | -1): HeapMode | null {
  moving = Math.max(0, moving + delta);
  const mode: HeapMode = moving > 0 ? 'moving-bytes' : 'watching';
  return setHeapMode(mode) ? mode : null;
}

/** Commands that answer and end: startup is what their users wait on (see flagsBeforeLoading). */
const QUICK_COMMANDS: ReadonlySet<string> = new Set(['list', 'ls', 'wait', 'kill', 'completion', 'help']);

/**
 * Whether the command set its heap flags before loading the rest of portwatch (main.ts). V8
 * parses and compiles a whole static import graph before running any of it, which grows its
 * young generation from 1 MB to 2 × 4 MB; set first, the flags keep it at 2 × 1 MB, and
 * under churn a watcher's RSS then grows 65 → 74 MB instead of 64 → 80 MB (40 s of 500
 * listeners/s, tracefs, by hand). It costs ~25 ms at start (`list`: p50 ~215 → ~245 ms),
 * which commands that run for long pay once and quick ones would pay every time: they load
 * first and set the flags after. `argv` is process.argv; anything but a quick command
 * (watch, serve, run, mcp, forward, bare `portwatch`, options first) is long.
 */
export function flagsBeforeLoading(argv: readonly string[]): boolean {
  const command = argv[2];
  return command === undefined || !QUICK_COMMANDS.has(command);
}
