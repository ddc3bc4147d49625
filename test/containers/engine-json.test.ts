/**
 * The Engine API's JSON, as captured from Debian's docker.io 20.10 (test/fixtures/engine),
 * turned into portwatch's shapes; and the bounded line splitter the event stream is read with.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { containerDetailsFromInspect, containerEventFromJson, containerSummaryFromList } from '../../src/containers/engine-json.js';
import { LineSplitter } from '../../src/containers/json-lines.js';
import { fixture } from '../helpers/fixtures.js';

const ID = '9c30a1c84a7e1f0e254eadcfae6cfa783a83495f14d74aa91d741ebab96dc85c';
const json = (name: string): unknown => JSON.parse(fixture(`engine/${name}`));

describe('containerDetailsFromInspect', () => {
  it('reads a running container', () => {
    expect(containerDetailsFromInspect(json('docker-inspect-running.json'), 'docker')).toEqual({
      id: ID,
      name: 'web',
      image: 'portwatch-test/busybox:1',
      imageId: 'sha256:b12eaeed6a2379a43dc9bf33be2283633383c8b3aa6070a72d44a58117bc3bff',
      pid: 17026,
      running: true,
      status: 'running',
      labels: { 'com.example.team': 'ports' },
      runtime: 'docker',
    });
  });
  it('gives pid 0 for a stopped one', () => {
    expect(containerDetailsFromInspect(json('docker-inspect-exited.json'), 'docker')).toMatchObject({
      pid: 0,
      running: false,
      status: 'exited',
    });
  });
  it('refuses an answer without a full id, and never throws', () => {
    expect(containerDetailsFromInspect({ Id: 'abc', State: { Pid: 4, Running: true } }, 'docker')).toBeNull();
    expect(containerDetailsFromInspect({ Id: ID, State: { Pid: -4, Running: true } }, 'podman')).toMatchObject({ pid: 0, name: '' });
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        containerDetailsFromInspect(v, 'docker');
        containerSummaryFromList(v, 'podman');
      }),
    );
  });
});

describe('containerSummaryFromList', () => {
  it('reads GET /containers/json', () => {
    const list = json('docker-list.json') as unknown[];
    expect(list.map((c) => containerSummaryFromList(c, 'docker'))).toEqual([
      {
        id: ID,
        name: 'web',
        image: 'portwatch-test/busybox:1',
        state: 'running',
        labels: { 'com.example.team': 'ports' },
        runtime: 'docker',
      },
    ]);
  });
  it("takes the container's own name, not a link alias", () => {
    expect(containerSummaryFromList({ Id: ID, Names: ['/app/db', '/db'] }, 'docker')?.name).toBe('db');
  });
});

describe('containerEventFromJson', () => {
  const events = fixture('engine/docker-events.ndjson')
    .trim()
    .split('\n')
    .map((l) => containerEventFromJson(JSON.parse(l), 'docker'));

  it('reads the actions of create, stop, start, rename and exec', () => {
    expect(events.map((e) => e?.action)).toEqual([
      'create',
      'start',
      'kill',
      'kill',
      'die',
      'stop',
      'start',
      'rename',
      'exec_create',
      'exec_start',
      'exec_create',
      'exec_start',
      'exec_die',
    ]);
  });
  it('gives die its exit code, rename the new name, and every event its time in ms', () => {
    expect(events[4]).toEqual({
      action: 'die',
      id: ID,
      name: 'web',
      image: 'portwatch-test/busybox:1',
      exitCode: 137,
      time: 1796200242882,
      runtime: 'docker',
    });
    expect(events[7]).toMatchObject({ action: 'rename', name: 'web2', exitCode: null });
    expect(events.every((e) => e !== null && e.time !== null && e.time > 1.7e12)).toBe(true);
  });
  it("reads Podman's compatible events (`died` from older versions too)", () => {
    const podman = {
      status: 'died',
      id: ID,
      from: 'docker.io/library/nginx:latest',
      Type: 'container',
      Action: 'died',
      Actor: { ID, Attributes: { containerExitCode: '0', image: 'docker.io/library/nginx:latest', name: 'web', podId: '' } },
      scope: 'local',
      time: 1700000000,
    };
    expect(containerEventFromJson(podman, 'podman')).toEqual({
      action: 'die',
      id: ID,
      name: 'web',
      image: 'docker.io/library/nginx:latest',
      exitCode: 0,
      time: 1_700_000_000_000,
      runtime: 'podman',
    });
  });
  it('ignores events of other types and objects without an id; never throws', () => {
    expect(containerEventFromJson({ Type: 'network', Action: 'connect', Actor: { ID } }, 'docker')).toBeNull();
    expect(containerEventFromJson({ Type: 'container', Action: 'start', Actor: { ID: 'short' } }, 'docker')).toBeNull();
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        containerEventFromJson(v, 'docker');
      }),
    );
  });
});

describe('LineSplitter', () => {
  it('gives the same lines however the bytes are cut, multi-byte characters included', () => {
    const lines = fc.array(
      fc.string({ unit: 'grapheme', maxLength: 40 }).filter((s) => !s.includes('\n') && !s.includes('\r') && s.trim() !== ''),
      { maxLength: 10 },
    );
    fc.assert(
      fc.property(lines, fc.array(fc.nat(200), { maxLength: 10 }), (ls, cuts) => {
        const bytes = Buffer.from(ls.map((l) => `${l}\n`).join(''));
        const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const splitter = new LineSplitter(1024);
        const out: string[] = [];
        let prev = 0;
        for (const c of [...at, bytes.length]) {
          out.push(...splitter.push(bytes.subarray(prev, c)));
          prev = c;
        }
        expect(out).toEqual(ls);
        expect(splitter.rest()).toBe('');
      }),
    );
  });
  it('stops at a line longer than its bound, even one that arrives in small pieces, keeping the lines before it', () => {
    const splitter = new LineSplitter(10);
    expect(splitter.push(Buffer.from('0123456789\nab'))).toEqual(['0123456789']);
    for (let i = 0; i < 100; i++) splitter.push(Buffer.from('x'));
    expect(splitter.overflowed).toBe(true);
    expect(splitter.push(Buffer.from('\nok\n'))).toEqual([]);
    const again = new LineSplitter(10);
    expect(again.push(Buffer.from(`one\ntwo\n${'y'.repeat(11)}\nthree\n`))).toEqual(['one', 'two']);
    expect(again.overflowed).toBe(true);
  });
  it('drops a trailing \\r and empty lines', () => {
    expect(new LineSplitter(100).push(Buffer.from('a\r\n\n  \nb\n'))).toEqual(['a', 'b']);
  });
});
