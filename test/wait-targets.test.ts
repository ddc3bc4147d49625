import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PortwatchError } from '../src/errors.js';
import type { Listener } from '../src/listener.js';
import {
  connectAddress,
  describeTargets,
  eventInterestOf,
  listenerServes,
  parseWaitTarget,
  parseWaitTargets,
  type WaitTarget,
} from '../src/wait-targets.js';
import { fixture } from './helpers/fixtures.js';

interface Cases {
  valid: { args: string[]; targets: Record<string, unknown>[] }[];
  invalid: { args: string[]; message: string }[];
}
const cases = JSON.parse(fixture('wait-targets/targets.json')) as Cases;

/** The target without its URL object (compared through `text`) and, for ports, without the text as typed. */
function plain(t: WaitTarget): Record<string, unknown> {
  if (t.kind === 'url') {
    const { url: _u, ...rest } = t;
    return rest;
  }
  const { text: _t, ...rest } = t;
  return rest;
}

function listener(address: string, over: Partial<Listener> = {}): Listener {
  return {
    protocol: 'tcp',
    family: address.includes(':') ? 6 : 4,
    address,
    port: 8080,
    dualStack: address === '::' ? true : null,
    interface: null,
    inode: 1,
    uid: 0,
    netns: null,
    process: null,
    ...over,
  };
}

describe('parseWaitTargets: the forms wait-on users write', () => {
  it.each(cases.valid.map((c) => [c.args.join(' '), c] as const))('%s', (_name, c) => {
    expect(parseWaitTargets(c.args).map(plain)).toEqual(c.targets);
  });

  it.each(cases.invalid.map((c) => [c.args.join(' ') || '(nothing)', c] as const))('refuses %s with one line', (_name, c) => {
    let error: unknown;
    try {
      parseWaitTargets(c.args);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PortwatchError);
    expect((error as PortwatchError).code).toBe('EUSAGE');
    expect((error as PortwatchError).message).toBe(c.message);
    expect((error as PortwatchError).message).not.toContain('\n');
  });

  it('plain ports take the protocol asked for; tcp: and udp: keep theirs', () => {
    expect(parseWaitTargets(['53', 'tcp:80'], 'udp').map((t) => t.kind === 'port' && t.protocol)).toEqual(['udp', 'tcp']);
    expect(parseWaitTarget('53', 'any')).toMatchObject({ protocol: 'any' });
  });

  it('never throws anything but a usage error, and every target it returns has a port in range', () => {
    const piece = fc.oneof(
      fc.string(),
      fc.constantFrom('tcp:', 'udp:', 'http://', 'https://', 'localhost', '[::1]', ':', ',', '8080', '127.0.0.1', '%', '['),
    );
    fc.assert(
      fc.property(
        fc.array(
          fc.array(piece, { maxLength: 6 }).map((p) => p.join('')),
          { maxLength: 3 },
        ),
        (args) => {
          try {
            for (const t of parseWaitTargets(args)) expect(t.port >= 1 && t.port <= 65535).toBe(true);
          } catch (e) {
            expect(e).toBeInstanceOf(PortwatchError);
            expect((e as PortwatchError).code).toBe('EUSAGE');
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('listenerServes: a host restricts the addresses that count', () => {
  const t = (text: string): WaitTarget => parseWaitTarget(text);
  it.each([
    ['8080', ['127.0.0.1', '::1', '0.0.0.0', '::', '10.1.2.3'], []],
    ['tcp:localhost:8080', ['127.0.0.1', '127.0.0.53', '::1', '0.0.0.0', '::', '::ffff:127.0.0.1'], ['10.1.2.3', 'fe80::1']],
    ['tcp:127.0.0.1:8080', ['127.0.0.1', '0.0.0.0', '::', '::ffff:127.0.0.1'], ['127.0.0.2', '::1', '10.1.2.3']],
    ['tcp:[::1]:8080', ['::1', '::'], ['127.0.0.1', '0.0.0.0']],
    ['tcp:10.1.2.3:8080', ['10.1.2.3', '0.0.0.0', '::'], ['127.0.0.1', '10.1.2.4']],
  ])('%s', (text, yes, no) => {
    for (const a of yes) expect(listenerServes(t(text), listener(a)), a).toBe(true);
    for (const a of no) expect(listenerServes(t(text), listener(a)), a).toBe(false);
  });

  it('an IPv6-only wildcard does not serve an IPv4 host; a wildcard bound to eth0 is not loopback', () => {
    expect(listenerServes(t('tcp:127.0.0.1:8080'), listener('::', { dualStack: false }))).toBe(false);
    expect(listenerServes(t('tcp:localhost:8080'), listener('0.0.0.0', { interface: 'eth0' }))).toBe(false);
    expect(listenerServes(t('tcp:localhost:8080'), listener('0.0.0.0', { interface: 'lo' }))).toBe(true);
  });

  it('protocol and port must match; a URL is TCP', () => {
    expect(listenerServes(t('udp:8080'), listener('0.0.0.0'))).toBe(false);
    expect(listenerServes(t('udp:8080'), listener('0.0.0.0', { protocol: 'udp' }))).toBe(true);
    expect(listenerServes(parseWaitTarget('8080', 'any'), listener('0.0.0.0', { protocol: 'udp' }))).toBe(true);
    expect(listenerServes(t('tcp:8081'), listener('0.0.0.0'))).toBe(false);
    expect(listenerServes(t('http://localhost:8080/'), listener('::1'))).toBe(true);
    expect(listenerServes(t('http://localhost:8080/'), listener('::1', { protocol: 'udp' }))).toBe(false);
  });
});

describe('connectAddress: where a URL is asked', () => {
  it('a literal host as written; localhost at the listening address, a wildcard at its loopback', () => {
    const host = (text: string) => (parseWaitTarget(text) as { host: NonNullable<WaitTarget['host']> }).host;
    expect(connectAddress(host('http://127.0.0.1:1/'), listener('0.0.0.0'))).toBe('127.0.0.1');
    expect(connectAddress(host('http://0.0.0.0:1/'), listener('0.0.0.0'))).toBe('127.0.0.1');
    expect(connectAddress(host('http://[::]:1/'), listener('::'))).toBe('::1');
    expect(connectAddress(host('http://localhost:1/'), listener('::1'))).toBe('::1');
    expect(connectAddress(host('http://localhost:1/'), listener('127.0.0.5'))).toBe('127.0.0.5');
    expect(connectAddress(host('http://localhost:1/'), listener('0.0.0.0'))).toBe('127.0.0.1');
    expect(connectAddress(host('http://localhost:1/'), listener('::'))).toBe('::1');
    expect(connectAddress(host('http://localhost:1/'), listener('::ffff:127.0.0.1'))).toBe('127.0.0.1');
  });
});

describe('describeTargets', () => {
  it('groups host-less ports by protocol as before, and names the rest as written, with notes', () => {
    const targets = parseWaitTargets(['80,443', 'udp:53', 'tcp:localhost:3000', 'http://localhost:3000/health']);
    expect(describeTargets(targets, (t) => (t.kind === 'url' ? 'last answer 503' : null))).toBe(
      'tcp ports 80, 443, udp port 53, tcp:localhost:3000, http://localhost:3000/health (last answer 503)',
    );
    expect(describeTargets(parseWaitTargets(['80'], 'any'))).toBe('port 80');
  });
});

describe('eventInterestOf: the kernel events that can concern the targets', () => {
  it('TCP ports and URLs name their ports; udp: and --any ask for every bind', () => {
    expect(eventInterestOf(parseWaitTargets(['3000,5432', 'tcp:[::1]:3000', 'https://localhost/health']))).toEqual({
      tcpPorts: [3000, 5432, 443],
      udp: false,
    });
    expect(eventInterestOf(parseWaitTargets(['udp:53']))).toEqual({ tcpPorts: [], udp: true });
    expect(eventInterestOf(parseWaitTargets(['8080'], 'any'))).toEqual({ tcpPorts: [8080], udp: true });
    expect(eventInterestOf(parseWaitTargets(['53'], 'udp'))).toEqual({ tcpPorts: [], udp: true });
  });
});
