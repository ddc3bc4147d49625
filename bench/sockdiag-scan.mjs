#!/usr/bin/env node
/**
 * Cost of one sockdiag scan (four dumps: tcp4, tcp6, udp4, udp6) on the built dist.
 *
 *   npm run build:native && npx tsc -p tsconfig.build.json && node bench/sockdiag-scan.mjs [iterations] [--netns-self]
 *
 * --netns-self scans through /proc/<own pid>/ns/net, to price the setns round trips.
 */
import { performance } from 'node:perf_hooks';
import { sockDiagUnavailableReason } from '../dist/sources/sock-diag-addon.js';
import { createSockDiagSource } from '../dist/sources/sock-diag.js';

const args = process.argv.slice(2);
const iterations = Number(args.find((a) => /^\d+$/.test(a)) ?? 2000);
const target = args.includes('--netns-self') ? { netnsPid: process.pid } : {};
const WARMUP = 200;

const source = createSockDiagSource();
if (!source) {
  console.error(`sockdiag unavailable: ${sockDiagUnavailableReason()}`);
  process.exit(1);
}

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const us = (ms) => `${(ms * 1000).toFixed(1)} µs`;

for (let i = 0; i < WARMUP; i++) await source.scan(target);
const times = [];
let sockets = 0;
for (let i = 0; i < iterations; i++) {
  const start = performance.now();
  sockets = (await source.scan(target)).length;
  times.push(performance.now() - start);
}
times.sort((a, b) => a - b);
console.log(
  `sockdiag scan${target.netnsPid ? ' (via setns)' : ''}: ${iterations} iterations, ${sockets} listening sockets: ` +
    `median ${us(quantile(times, 0.5))}, p95 ${us(quantile(times, 0.95))}, max ${us(times[times.length - 1])}`,
);
