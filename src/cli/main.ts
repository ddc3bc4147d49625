#!/usr/bin/env node
/**
 * The portwatch command (exit codes: program.ts). Commands that run for long set the heap's
 * flags before the rest of portwatch loads, quick ones after (heap-flags.ts,
 * flagsBeforeLoading): hence the dynamic imports.
 */
import { flagsBeforeLoading, setHeapMode } from './heap-flags.js';

const early = flagsBeforeLoading(process.argv);
if (early) setHeapMode('watching');
const { guardOutput } = await import('./output-guard.js');
const { main } = await import('./program.js');
if (!early) setHeapMode('watching');
guardOutput();
process.exitCode = await main(process.argv);
