/**
 * V8 flags the portwatch command sets for itself at start (the library leaves its host's flags
 * alone). V8 reads them as it goes, so setting them at run time takes effect.
 *
 * serve and forward, which move bytes: no incremental marking. portwatch's heap is small
 * (8–11 MB), the size at which incremental marking runs back to back while sockets churn read
 * buffers: 30–60 full collections per GiB relayed, about half their CPU
 * (bench/tunnel-profile.mjs --gc). Without it V8 collects when the old generation fills.
 *
 * Every other command: a young generation that does not grow, and an old generation whose
 * collection starts 10 % above what the last full collection kept. Under churn a watcher's
 * listeners live about a second, outlive two young-generation collections and die in the old
 * generation; by default V8 grows the young generation to 2 × 16 MB and lets the old one fill
 * first. Incremental marking stays on for these: it is what starts a full collection at that
 * 10 %; without it the old generation fills with dead listeners to V8's hard limit (old space
 * peaked at 258 MB instead of 20 MB in the test's churn). `portwatch watch --json`, tracefs,
 * 500 listeners/s for 2 min: RSS 64 → 77 MB in the first 10 s, then 77–79 MB to the end (with
 * incremental marking off too: 64 → 74–91 MB, still rising; with V8's defaults: 67 → 103 MB).
 */
const THROUGHPUT = ['--no-incremental-marking'];
const COMPACT = ['--semi-space-growth-factor=1', '--heap-growing-percent=10'];
const THROUGHPUT_COMMANDS = new Set(['serve', 'forward']);

/** The flags for the command line `argv` (process.argv: the command is argv[2]; none means watch). */
export function heapFlagsFor(argv: readonly string[]): string[] {
  const command = argv[2];
  return command !== undefined && THROUGHPUT_COMMANDS.has(command) ? [...THROUGHPUT] : [...COMPACT];
}
