// A command with a family, for `portwatch run` tests. Every process here ends on its own
// within a minute at the latest; tests stop them earlier, by pid.
//
//   tree [--url] [--on-stdin]   the child: spawns `listen`, forwards nothing; on SIGINT,
//                               SIGTERM or SIGHUP prints "child got SIG…", stops the
//                               grandchild, and exits 41, 42 or 43; prints "child got
//                               SIGWINCH" on SIGWINCH
//   listen [--url] [--on-stdin] the grandchild: listens on 127.0.0.1:0 (after a line on
//          [--ignore-term]      stdin with --on-stdin) and prints "gc PID PORT", or with
//                               --url "gc PID PORT ready at http://127.0.0.1:PORT/"; with
//                               --ignore-term it prints "gc ignored SIGTERM" on stderr and
//                               goes on
//   orphan [--clean-env]        spawns a detached `listen` (in its own session; with an
//                               empty environment), prints its line, exits 0
//   escape [--ignore-term]      spawns a detached `listen`, prints its line, stays
//   exit N                      exits with code N
//   self-signal SIG             kills itself with SIG
import { spawn } from 'node:child_process';
import net from 'node:net';
import { createInterface } from 'node:readline';

const [mode, ...rest] = process.argv.slice(2);
const me = process.argv[1];
const flags = new Set(rest);
setTimeout(() => process.exit(99), 60_000).unref();

function listen() {
  process.stdout.on('error', () => {}); // a reader gone (the parent in `escape`) must not end it
  // Reads what clients send (and so sees their FIN): a server that never reads would keep a
  // probe's connection in CLOSE-WAIT, and server.close() would wait for it forever.
  const server = net.createServer((s) => {
    s.on('error', () => {});
    s.resume();
  });
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address();
    console.log(`gc ${process.pid} ${port}${flags.has('--url') ? ` ready at http://127.0.0.1:${port}/` : ''}`);
  });
  if (flags.has('--ignore-term')) process.on('SIGTERM', () => console.error('gc ignored SIGTERM'));
  else process.on('SIGTERM', () => server.close(() => process.exit(0)));
  setTimeout(() => process.exit(0), 60_000);
}

if (mode === 'listen') {
  if (flags.has('--on-stdin')) createInterface({ input: process.stdin }).once('line', listen);
  else listen();
} else if (mode === 'tree') {
  console.log(`child ${process.pid} started`);
  const gc = spawn(process.execPath, [me, 'listen', ...rest], { stdio: 'inherit' });
  const codes = { SIGINT: 41, SIGTERM: 42, SIGHUP: 43 };
  for (const [signal, code] of Object.entries(codes)) {
    process.on(signal, () => {
      console.log(`child got ${signal}`);
      // The grandchild may have had the signal too (sent to the whole group) and be gone already.
      if (gc.exitCode !== null || gc.signalCode !== null) process.exit(code);
      gc.once('exit', () => process.exit(code));
      gc.kill('SIGTERM');
    });
  }
  process.on('SIGWINCH', () => console.log('child got SIGWINCH'));
  gc.on('exit', () => setTimeout(() => process.exit(0), 60_000));
} else if (mode === 'orphan' || mode === 'escape') {
  const env = flags.has('--clean-env') ? {} : process.env;
  const args = [me, 'listen', ...rest.filter((f) => f !== '--clean-env')];
  const gc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], detached: true, env });
  createInterface({ input: gc.stdout }).once('line', (line) => {
    console.log(line);
    gc.unref();
    gc.stdout.destroy();
    if (mode === 'orphan') process.exit(0);
  });
  if (mode === 'escape') setTimeout(() => process.exit(0), 60_000);
} else if (mode === 'exit') {
  process.exit(Number(rest[0]));
} else if (mode === 'self-signal') {
  process.kill(process.pid, rest[0]);
} else {
  console.error(`family.mjs: unknown mode ${mode}`);
  process.exit(2);
}
