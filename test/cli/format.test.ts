import { describe, expect, it } from 'vitest';
import { describeListener, formatEvent, formatTable, parseColorChoice, styleFor, type Style } from '../../src/cli/format.js';
import { formatRunEvent } from '../../src/run/events.js';
import { listener, proc } from '../rules/make-listener.js';

const plain = (width: number | undefined): Style => ({ color: false, width });
const time = '2026-01-01T12:00:01.234Z';
const long = listener({ port: 3000, process: proc({ pid: 77, name: 'node', command: `node ${'x'.repeat(200)}` }) });

describe('cutting lines to the terminal width', () => {
  it('cuts at a real width, with an ellipsis', () => {
    const lines = formatTable([long], plain(60)).split('\n');
    expect(lines.map((l) => l.length)).toEqual([lines[0]?.length, 60]);
    expect(lines[1]).toMatch(/^tcp\s+127\.0\.0\.1:3000\s+77\s+1000\s+node\s+node x+…$/);
  });

  it.each([0, Number.NaN, -1, undefined])('width %s means "do not cut": every row is whole', (width) => {
    const [header, row] = formatTable([long], plain(width)).split('\n');
    expect(header).toMatch(/^PROTO\s+ADDRESS:PORT\s+PID\s+USER\s+PROCESS\s+COMMAND$/);
    expect(row).toMatch(new RegExp(`^tcp\\s+127\\.0\\.0\\.1:3000\\s+77\\s+1000\\s+node\\s+node x{200}$`));
    const event = formatEvent({ type: 'open', time, listener: long }, plain(width));
    expect(event).toMatch(/ \+ tcp {2}127\.0\.0\.1:3000\s+77 node$/);
  });

  it('an update (owner found late) reads `~`, like the open it completes', () => {
    const update = formatEvent({ type: 'update', time, listener: long }, { color: true, width: undefined });
    expect(update).toMatch(/ ~ tcp {2}127\.0\.0\.1:3000\s+77 node$/);
    expect(formatEvent({ type: 'close', time, listener: long }, plain(undefined))).toMatch(/ - tcp /);
  });

  it('a pty that reports 0 columns (some CI runners, `script`) counts as unknown width', () => {
    const tty = (columns: number): NodeJS.WriteStream => ({ isTTY: true, columns }) as unknown as NodeJS.WriteStream;
    expect(styleFor(tty(0), {})).toEqual({ color: true, width: undefined });
    expect(styleFor(tty(120), {})).toEqual({ color: true, width: 120 });
  });

  it('colours: --color decides; with auto, FORCE_COLOR forces them, NO_COLOR turns them off, else only a terminal', () => {
    const tty = { isTTY: true, columns: 80 } as unknown as NodeJS.WriteStream;
    const pipe = { isTTY: false } as unknown as NodeJS.WriteStream;
    expect(styleFor(pipe, {}).color).toBe(false);
    expect(styleFor(tty, {}).color).toBe(true);
    expect(styleFor(tty, { NO_COLOR: '1' }).color).toBe(false);
    expect(styleFor(pipe, { FORCE_COLOR: '1' }).color).toBe(true);
    expect(styleFor(pipe, { FORCE_COLOR: '' }).color).toBe(true);
    expect(styleFor(tty, { FORCE_COLOR: '0' }).color).toBe(false);
    expect(styleFor(tty, { FORCE_COLOR: 'false' }).color).toBe(false);
    expect(styleFor(pipe, { FORCE_COLOR: '1', NO_COLOR: '1' }).color).toBe(true);
    expect(styleFor(pipe, { NO_COLOR: '1' }, 'always').color).toBe(true);
    expect(styleFor(tty, { FORCE_COLOR: '1' }, 'never').color).toBe(false);
    expect(parseColorChoice(undefined)).toBe('auto');
    expect(() => parseColorChoice('sometimes')).toThrow(/invalid --color 'sometimes': use auto, always or never/);
  });
});

describe('text other processes chose is escaped in human-readable output', () => {
  const evil = listener({
    port: 4000,
    process: proc({ pid: 66, name: 'ev\u001b[2Jil', command: 'python3 -c x \u001b[31mred\rover\nnext \u202eabc \u2066i\u2069' }),
  });
  const label = (): string => 'lab\nel\u009b';

  it('in the table: one line per listener, control characters shown as \\x1b, \\n, \\r, \\u202e', () => {
    const lines = formatTable([evil], plain(undefined), label).split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toBe(
      'tcp    127.0.0.1:4000  66   1000  ev\\x1b[2Jil  lab\\nel\\x9b  python3 -c x \\x1b[31mred\\rover\\nnext \\u202eabc \\u2066i\\u2069',
    );
  });

  it('in colour, the only escape sequences are portwatch’s own', () => {
    const out = formatTable([evil], { color: true, width: undefined }, label);
    expect(out.split('\u001b')).toHaveLength(3);
    expect(out.startsWith('\u001b[1mPROTO')).toBe(true);
    expect(out).toContain('COMMAND\u001b[0m\n');
  });

  it('in watch lines and in run’s stderr lines', () => {
    expect(formatEvent({ type: 'open', time, listener: evil }, plain(undefined), label)).toMatch(
      /\+ tcp {2}127\.0\.0\.1:4000\s+66 ev\\x1b\[2Jil \[lab\\nel\\x9b\]$/,
    );
    expect(describeListener(evil, label)).toBe('tcp 127.0.0.1:4000 ev\\x1b[2Jil (pid 66) [lab\\nel\\x9b]');
    expect(formatRunEvent({ type: 'orphan', time, listener: evil }, 'npm')).toBe(
      'portwatch: still listening after npm exited: tcp 127.0.0.1:4000 ev\\x1b[2Jil (pid 66)',
    );
  });

  it('a backslash stays as it is', () => {
    const l = listener({ process: proc({ command: String.raw`grep -E a\.b \x1b` }) });
    expect(formatTable([l], plain(undefined)).split('\n')[1]).toMatch(/grep -E a\\\.b \\x1b$/);
  });
});
