/**
 * V8 flags the portwatch command sets for itself at start (the library leaves its host's flags
 * alone). Both kinds are read by V8 as it goes, so setting them at run time takes effect.
 *
 * Every command: no incremental marking. portwatch's heap is small (8–11 MB), the size at
 * which incremental marking runs back to back while sockets churn read buffers: 30–60 full
 * collections per GiB relayed by forward and serve, about half their CPU (bench/tunnel-profile.mjs
 * --gc). Without it V8 collects at once when the old generation fills: a few ms at this size.
 *
 * Every command but serve and forward (which move bytes and want room): a young generation
 * that does not grow, and an old generation limit 10 % above what the last full collection
 * kept. Under churn a watcher's listeners live about a second, outlive two young-generation
 * collections and die in the old generation; by default V8 grows the young generation to
 * 2 × 16 MB and lets the old one fill to its limit first. `node bench/churn.mjs --seconds 40`
 * (tracefs, 500 listeners/s): 70 → 111 MB without these, 70 → 86 MB with them, for ~2 points
 * more CPU during the churn (more young-generation collections).
 */
const EVERY_COMMAND = ['--no-incremental-marking'];
const COMPACT = ['--semi-space-growth-factor=1', '--heap-growing-percent=10'];
const THROUGHPUT_COMMANDS = new Set(['serve', 'forward']);

/** The flags for the command line `argv` (process.argv: the command is argv[2]; none means watch). */
export function heapFlagsFor(argv: readonly string[]): string[] {
  const command = argv[2];
  return command !== undefined && THROUGHPUT_COMMANDS.has(command) ? [...EVERY_COMMAND] : [...EVERY_COMMAND, ...COMPACT];
}
