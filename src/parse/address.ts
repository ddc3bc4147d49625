/**
 * Address text forms. Pure: bytes or hex in, canonical text out; null on malformed input.
 * Canonical means dotted IPv4 and RFC 5952 IPv6 (lowercase, longest zero run as `::`,
 * IPv4-mapped addresses as `::ffff:a.b.c.d`).
 */

export function formatIPv4(b: ArrayLike<number>, offset = 0): string {
  return `${b[offset]}.${b[offset + 1]}.${b[offset + 2]}.${b[offset + 3]}`;
}

export function formatIPv6(b: ArrayLike<number>, offset = 0): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(((b[offset + 2 * i] ?? 0) << 8) | (b[offset + 2 * i + 1] ?? 0));
  if (groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0 && groups[4] === 0 && groups[5] === 0xffff) {
    return `::ffff:${formatIPv4(b, offset + 12)}`;
  }
  // Longest run of two or more zero groups; the first one wins a tie (RFC 5952 §4.2.3).
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

const HEX_RE = /^[0-9A-Fa-f]+$/;

/**
 * /proc/net/{tcp,udp}[6] print addresses as 32-bit words in host byte order
 * (`0100007F` is 127.0.0.1 on little-endian machines). Returns null when malformed.
 */
export function procHexToAddress(hex: string, family: 4 | 6, littleEndian = true): string | null {
  const want = family === 4 ? 8 : 32;
  if (hex.length !== want || !HEX_RE.test(hex)) return null;
  const bytes = new Uint8Array(want / 2);
  for (let w = 0; w < want / 8; w++) {
    for (let i = 0; i < 4; i++) {
      const byte = parseInt(hex.slice(w * 8 + i * 2, w * 8 + i * 2 + 2), 16);
      bytes[w * 4 + (littleEndian ? 3 - i : i)] = byte;
    }
  }
  return family === 4 ? formatIPv4(bytes) : formatIPv6(bytes);
}

/** True for the wildcard addresses 0.0.0.0 and ::. */
export function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}

/** `127.0.0.1:80`, `[::1]:80`: how people write an address with a port. */
export function formatHostPort(address: string, port: number, family: 4 | 6): string {
  return family === 6 ? `[${address}]:${port}` : `${address}:${port}`;
}
