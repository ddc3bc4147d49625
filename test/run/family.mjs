// A command with a family, for `portwatch run` tests. Every process here ends on its own
// within a minute at the latest; tests stop them earlier, by pid.
//
//   tree [--url] [--on-stdin]   the child: spawns `listen`, forwards nothing; on SIGINT,
//                               SIGTERM or SIGHUP prints "child got SIG…", stops the
//                               grandchild, and exits 41, 42 or 43
//   listen [--url] [--on-stdin] the grandchild: listens on 127.0.0.1:0 (after a line on
//                               stdin with --on-stdin) and prints "gc PID PORT", or with
//                               --url "gc PID PORT ready at http://127.0.0.1:PORT/"
//   orphan                      spawns a detached `listen`, prints its line, exits 0
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
  const server = net.createServer();
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address();
    console.log(`gc ${process.pid} ${port}${flags.has('--url') ? ` ready at http://127.0.0.1:${port}/` : ''}`);
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
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
      gc.once('exit', () => process.exit(code));
      gc.kill('SIGTERM');
    });
  }
  gc.on('exit', () => setTimeout(() => process.exit(0), 60_000));
} else if (mode === 'orphan') {
  const gc = spawn(process.execPath, [me, 'listen'], { stdio: ['ignore', 'pipe', 'ignore'], detached: true });
  createInterface({ input: gc.stdout }).once('line', (line) => {
    console.log(line);
    gc.unref();
    gc.stdout.destroy();
    process.exit(0);
  });
} else if (mode === 'exit') {
  process.exit(Number(rest[0]));
} else if (mode === 'self-signal') {
  process.kill(process.pid, rest[0]);
} else {
  console.error(`family.mjs: unknown mode ${mode}`);
  process.exit(2);
}
