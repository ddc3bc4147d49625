/**
 * Newline-delimited text from a stream, in bounded memory: bytes are kept until their line
 * is complete (so a UTF-8 character split across chunks is decoded whole), and a line longer
 * than the bound stops the splitter (`overflowed`) instead of growing a buffer. Pure.
 */

export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private stopped = false;

  constructor(readonly maxLineBytes: number) {}

  /** A line was longer than the bound: nothing after it is returned. */
  get overflowed(): boolean {
    return this.stopped;
  }

  /**
   * The lines completed by `chunk` (without their `\n`, nor a `\r` before it); empty lines
   * are skipped. The lines before an overlong one are still returned; then `overflowed` is true.
   */
  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    if (this.stopped) return lines;
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      if (!this.keep(chunk.subarray(start, nl))) return lines;
      const line = Buffer.concat(this.pending, this.pendingBytes).toString('utf8');
      this.pending = [];
      this.pendingBytes = 0;
      const text = line.endsWith('\r') ? line.slice(0, -1) : line;
      if (text.trim() !== '') lines.push(text);
      start = nl + 1;
    }
    this.keep(chunk.subarray(start));
    return lines;
  }

  /** Bytes after the last newline (a stream that ended without one). */
  rest(): string {
    return Buffer.concat(this.pending, this.pendingBytes).toString('utf8');
  }

  /** Keeps `part` of the current line; false (and stopped) when the line outgrows the bound. */
  private keep(part: Buffer): boolean {
    if (part.length === 0) return true;
    if (this.pendingBytes + part.length > this.maxLineBytes) {
      this.pending = [];
      this.pendingBytes = 0;
      this.stopped = true;
      return false;
    }
    this.pending.push(part);
    this.pendingBytes += part.length;
    return true;
  }
}
