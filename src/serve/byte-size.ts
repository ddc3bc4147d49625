/** Byte sizes on the command line: `1048576`, `64KiB`, `10MiB`, `1GiB`, `500KB`, `10M`. */
import { PortwatchError } from '../errors.js';

const SIZE_RE = /^(\d+(?:\.\d+)?)\s*([kmg]?i?b?)$/i;

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kib: 1024,
  kb: 1000,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  mb: 1000 ** 2,
  g: 1024 ** 3,
  gib: 1024 ** 3,
  gb: 1000 ** 3,
};

/** Parses a size; KiB/MiB/GiB (and bare K/M/G) are powers of 1024, KB/MB/GB powers of 1000. */
export function parseByteSize(text: string, what = 'size'): number {
  const m = SIZE_RE.exec(text.trim());
  const unit = UNITS[(m?.[2] ?? '').toLowerCase()];
  if (!m?.[1] || unit === undefined) throw new PortwatchError('EUSAGE', `invalid ${what} '${text}': use e.g. 65536, 64KiB, 10MiB`);
  const bytes = Math.floor(Number(m[1]) * unit);
  if (!Number.isSafeInteger(bytes) || bytes < 1) throw new PortwatchError('EUSAGE', `invalid ${what} '${text}': must be at least 1 byte`);
  return bytes;
}
