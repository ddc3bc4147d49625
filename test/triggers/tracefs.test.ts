/**
 * The tracefs trigger on the real kernel: real listeners in other processes, real
 * connections on loopback, a real SIGKILL. Needs root (see helpers/tracefs.ts).
 */
import { existsSync } from 'node:fs';
import { createConnection, createServer, type AddressInfo, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { tracefsInstanceDir, tracefsStats, tracefsTrigger } from '../../src/triggers/tracefs.js';
import type { Hint } from '../../src/triggers/trigger.js';
import { holdSockets, stopAll, waitFor } from '../helpers/processes.js';
import { requireTracefs } from '../helpers/tracefs.js';
import { exited, killNodeChildren, node } from './node-module-child.js';

const stops: (() => Promise<void>)[] = [];

afterEach(async () => {
  await Promise.all(stops.splice(0).map((stop) => stop()));
  killNodeChildren();
  await stopAll();
});

function subscribe(): { hints: Hint[]; failures: Error[]; stop: () => Promise<void> } {
  const hints: Hint[] = [];
  const failures: Error[] = [];
  const stop = tracefsTrigger.subscribe({ hint: (h) => hints.push(h), failed: (e) => failures.push(e) });
  stops.push(stop);
  return { hints, failures, stop };
}

describe('tracefs trigger', () => {
  it('hints when another process starts and stops listening on TCP', async (ctx) => {
    requireTracefs(ctx);
    const { hints } = subscribe();
    const holder = await holdSockets([]);
    const { index, port } = await holder.open({ proto: 'tcp', host: '127.0.0.1' });
    await waitFor(() => hints.some((h) => h.kind === 'listen' && h.port === port && h.tid === holder.pid), 'the listen hint');
    await holder.close(index);
    await waitFor(() => hints.some((h) => h.kind === 'unlisten' && h.port === port), 'the unlisten hint');
  });

  it('hints on a UDP bind, which changes no TCP state', async (ctx) => {
    requireTracefs(ctx);
    const { hints } = subscribe();
    const holder = await holdSockets([]);
    await holder.open({ proto: 'udp', host: '127.0.0.1' });
    await waitFor(() => hints.some((h) => h.kind === 'bind' && h.tid === holder.pid), 'the bind hint of the socket holder');
  });

  it('lets no accepted connection through its filter: 1,000 connections, no hint for that port', async (ctx) => {
    requireTracefs(ctx);
    const { hints } = subscribe();
    const server: Server = createServer((s) => s.destroy());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    await waitFor(() => hints.some((h) => h.kind === 'listen' && h.port === port), 'the listen hint');
    const linesBefore = tracefsStats().lines;
    for (let batch = 0; batch < 20; batch++) {
      await Promise.all(
        Array.from(
          { length: 50 },
          () =>
            new Promise<void>((resolve, reject) => {
              const c = createConnection(port, '127.0.0.1');
              c.on('error', reject);
              c.on('close', () => resolve());
              c.resume();
            }),
        ),
      );
    }
    await new Promise<void>((r) => server.close(() => r()));
    // The close comes after every accept in the trace: once it is read, so are they.
    await waitFor(() => hints.some((h) => h.kind === 'unlisten' && h.port === port), 'the unlisten hint');
    expect(hints.filter((h) => h.port === port).map((h) => h.kind)).toEqual(['listen', 'unlisten']);
    // A plain `oldstate == 10` would pass one line per accepted connection; the rest of the host adds a few.
    expect(tracefsStats().lines - linesBefore).toBeLessThan(500);
  });

  it('keeps one instance per process, however many subscribe, and removes it with the last', async (ctx) => {
    requireTracefs(ctx);
    const a = subscribe();
    const b = subscribe();
    const dir = tracefsInstanceDir();
    expect(dir).toMatch(new RegExp(`/instances/portwatch-${process.pid}$`));
    await a.stop();
    expect(existsSync(dir as string)).toBe(true);
    await b.stop();
    expect(existsSync(dir as string)).toBe(false);
    expect(tracefsInstanceDir()).toBeNull();
  });

  it('closes promptly with a read pending, and removes its instance', async (ctx) => {
    requireTracefs(ctx);
    const { stop } = subscribe();
    const dir = tracefsInstanceDir() as string;
    await new Promise((r) => setTimeout(r, 300)); // idle: the reader is waiting for the kernel
    const started = performance.now();
    await stop();
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(existsSync(dir)).toBe(false);
  });

  it('removes the instance a SIGKILLed process left recording, when the next one starts', async (ctx) => {
    requireTracefs(ctx);
    const { child, lines } = node(
      `import { tracefsTrigger, tracefsInstanceDir } from './dist/triggers/tracefs.js';
       tracefsTrigger.subscribe({ hint() {}, failed() {} });
       console.log(tracefsInstanceDir());
       setInterval(() => {}, 1000);`,
    );
    const dir = await waitFor(() => lines[0], 'the child to open its instance');
    expect(dir).toMatch(new RegExp(`/instances/portwatch-${child.pid}$`));
    process.kill(child.pid as number, 'SIGKILL');
    await exited(child);
    expect(existsSync(dir)).toBe(true); // the kernel keeps it: nobody removed it
    expect(tracefsInstanceDir()).toBeNull(); // so that the next subscribe opens (and sweeps)
    subscribe();
    expect(existsSync(dir)).toBe(false);
  });

  it('removes its instance when the process ends without closing', async (ctx) => {
    requireTracefs(ctx);
    const { child, lines } = node(
      `import { watch } from 'portwatch';
       const w = watch({ trigger: 'tracefs' });
       console.log(process.pid);
       w.on('ready', () => process.exit(0));`,
    );
    await exited(child);
    expect(child.exitCode).toBe(0);
    expect(existsSync(`/sys/kernel/tracing/instances/portwatch-${lines[0]}`)).toBe(false);
  });

  it('holds no threadpool thread and does not spin while idle', async (ctx) => {
    requireTracefs(ctx);
    // One threadpool thread: a reader parked on it would block every fs.readFile of the host.
    const { child, lines } = node(
      `import { readFile } from 'node:fs/promises';
       import { readFileSync } from 'node:fs';
       import { watch } from 'portwatch';
       const w = watch({ trigger: 'tracefs', persistent: true, minInterval: 60000, maxInterval: 60000 });
       await w.whenReady();
       await new Promise((r) => setTimeout(r, 300));
       const reads = [];
       for (let i = 0; i < 5; i++) {
         const t = performance.now();
         await readFile('/proc/self/status');
         reads.push(performance.now() - t);
         await new Promise((r) => setTimeout(r, 50));
       }
       const ticks = () => readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ').slice(11, 13).reduce((a, b) => a + Number(b), 0);
       const before = ticks();
       await new Promise((r) => setTimeout(r, 3000));
       console.log(JSON.stringify({ trigger: w.trigger, reads, cpuTicks: ticks() - before, pending: process.getActiveResourcesInfo() }));
       await w.close();`,
      { UV_THREADPOOL_SIZE: '1' },
    );
    await exited(child);
    const report = JSON.parse(lines[0] as string) as { trigger: string; reads: number[]; cpuTicks: number; pending: string[] };
    expect(report.trigger).toBe('tracefs');
    expect(Math.max(...report.reads)).toBeLessThan(250); // ~1 ms; a parked read would wait for the next kernel event
    expect(report.pending).not.toContain('FSReqCallback');
    expect(report.cpuTicks).toBeLessThan(30); // of 300 in 3 s (100 Hz): a spinning reader would take them all
  });
});
