/**
 * The embedded history: every event appended to a file as one JSON line (NDJSON). When the
 * next line would take the file past `maxBytes`, the file is renamed to `<file>.1`
 * (replacing the previous one) and a new one is started, so at most about 2 × maxBytes is
 * kept. Writes are batched and never block the server; a failed write is reported and the
 * next one tried again.
 */
import { open, rename, type FileHandle } from 'node:fs/promises';
import { PortwatchError } from '../errors.js';

export const DEFAULT_EVENTS_FILE_MAX_BYTES = 10 * 1024 * 1024;
/** Lines waiting to be written at most; beyond it the oldest are dropped (and reported). */
const MAX_PENDING_LINES = 100_000;

export interface EventsFileOptions {
  maxBytes?: number;
  onError?: (error: Error) => void;
}

export class EventsFile {
  private pending: string[] = [];
  private draining: Promise<void> | null = null;
  private closed = false;
  private broken = false;
  /** Lines dropped because the disk could not keep up. */
  dropped = 0;

  private constructor(
    readonly path: string,
    private handle: FileHandle,
    private size: number,
    readonly maxBytes: number,
    private readonly onError: (error: Error) => void,
  ) {}

  /** Opens (creating or appending to) `path`. Throws PortwatchError('EUSAGE') when it cannot be written. */
  static async open(path: string, options: EventsFileOptions = {}): Promise<EventsFile> {
    const maxBytes = options.maxBytes ?? DEFAULT_EVENTS_FILE_MAX_BYTES;
    let handle: FileHandle;
    try {
      handle = await open(path, 'a');
    } catch (e) {
      throw new PortwatchError('EUSAGE', `cannot write the events file '${path}': ${(e as Error).message}`, { cause: e });
    }
    const { size } = await handle.stat();
    return new EventsFile(path, handle, size, maxBytes, options.onError ?? (() => {}));
  }

  /** Queues one record as a JSON line. */
  append(record: unknown): void {
    if (this.closed) return;
    this.pending.push(`${JSON.stringify(record)}\n`);
    if (this.pending.length > MAX_PENDING_LINES) {
      const excess = this.pending.length - MAX_PENDING_LINES;
      this.pending.splice(0, excess);
      this.dropped += excess;
      this.onError(new Error(`events file ${this.path}: writes are behind; dropped ${excess} event(s)`));
    }
    this.draining ??= this.drain().finally(() => (this.draining = null));
  }

  /** Resolves when everything appended so far is written. */
  async flush(): Promise<void> {
    while (this.draining) await this.draining;
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    await this.handle.close().catch(() => {});
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      const lines = this.pending;
      this.pending = [];
      for (const batch of this.batches(lines)) {
        try {
          if (this.broken) await this.reopen();
          if (batch.rotateFirst) {
            // A rotation that fails costs the size limit, not the events: they go to the current file.
            await this.rotate().catch((e: Error) => this.onError(new Error(`events file ${this.path}: cannot rotate: ${e.message}`)));
          }
          await this.handle.write(batch.text);
          this.size += Buffer.byteLength(batch.text);
        } catch (e) {
          this.broken = true; // reopened before the next write
          this.onError(new Error(`events file ${this.path}: ${(e as Error).message}`));
        }
      }
    }
  }

  /** Splits lines into writes, each starting a new file when the current one would grow past maxBytes. */
  private *batches(lines: string[]): Generator<{ text: string; rotateFirst: boolean }> {
    let text = '';
    let size = this.size;
    let rotateFirst = false;
    for (const line of lines) {
      const n = Buffer.byteLength(line);
      if (size > 0 && size + n > this.maxBytes) {
        if (text !== '') yield { text, rotateFirst };
        text = '';
        size = 0;
        rotateFirst = true;
      }
      text += line;
      size += n;
    }
    if (text !== '') yield { text, rotateFirst };
  }

  private async rotate(): Promise<void> {
    await this.handle.close().catch(() => {});
    let renameError: Error | null = null;
    await rename(this.path, `${this.path}.1`).catch((e: Error) => (renameError = e));
    await this.reopen();
    if (renameError) throw renameError;
  }

  private async reopen(): Promise<void> {
    this.handle = await open(this.path, 'a');
    this.size = (await this.handle.stat()).size;
    this.broken = false;
  }
}
