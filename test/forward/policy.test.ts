/**
 * The forwarding decision and the connect order (pure).
 */
import { describe, expect, it } from 'vitest';
import type { Listener } from '../../src/listener.js';
import { decideForward, parsePortMap } from '../../src/forward/policy.js';
import { targetCandidates, wantsIPv6 } from '../../src/forward/target-address.js';
import { parseConfigText } from '../../src/rules/config.js';
import { createRules } from '../../src/rules/rules.js';

const l = (address: string, port: number, extra: Partial<Listener> = {}): Listener => ({
  protocol: 'tcp',
  family: address.includes(':') ? 6 : 4,
  address,
  port,
  dualStack: null,
  interface: null,
  inode: port,
  uid: 0,
  netns: null,
  process: { pid: 10, ppid: 1, name: 'node', command: 'node server.js', uid: 0 },
  ...extra,
});

const rulesFrom = (config: object) => createRules(parseConfigText(JSON.stringify(config), 'devcontainer.json'), 'devcontainer.json');
const options = (config: object = {}, extra: { map?: Map<number, number> } = {}) => ({
  rules: rulesFrom(config),
  ports: null,
  map: extra.map ?? new Map(),
});

describe('decideForward', () => {
  it('forwards on the same port, loudly, by default', () => {
    expect(decideForward(5173, [l('127.0.0.1', 5173)], options())).toEqual({
      forward: true,
      wanted: 5173,
      exact: false,
      notify: 'notify',
      scheme: 'http',
      label: null,
    });
  });
  it('follows onAutoForward, requireLocalPort, protocol and label', () => {
    const o = options({
      portsAttributes: {
        '3000': { onAutoForward: 'openBrowserOnce', requireLocalPort: true, protocol: 'https', label: 'App' },
        '9229': { onAutoForward: 'ignore' },
      },
    });
    expect(decideForward(3000, [l('0.0.0.0', 3000)], o)).toEqual({
      forward: true,
      wanted: 3000,
      exact: true,
      notify: 'openBrowserOnce',
      scheme: 'https',
      label: 'App',
    });
    expect(decideForward(9229, [l('127.0.0.1', 9229)], o).forward).toBe(false);
  });
  it('silent and otherPortsAttributes', () => {
    const o = options({ otherPortsAttributes: { onAutoForward: 'silent' } });
    expect(decideForward(8080, [l('::', 8080)], o)).toMatchObject({ forward: true, notify: 'silent' });
  });
  it('--map takes that host port exactly', () => {
    expect(decideForward(5173, [l('127.0.0.1', 5173)], options({}, { map: new Map([[5173, 15173]]) }))).toMatchObject({
      wanted: 15173,
      exact: true,
    });
  });
  it('--port limits what is forwarded; UDP is never forwarded', () => {
    expect(decideForward(80, [l('127.0.0.1', 80)], { ...options(), ports: [{ from: 3000, to: 3010 }] }).forward).toBe(false);
    expect(decideForward(53, [l('127.0.0.1', 53, { protocol: 'udp' })], options()).forward).toBe(false);
  });
  it('a forwardPorts port that does not listen yet is decided by its port alone', () => {
    expect(decideForward(5432, [], options({ portsAttributes: { '5432': { label: 'db' } } }))).toMatchObject({
      forward: true,
      label: 'db',
    });
  });
});

describe('parsePortMap', () => {
  it('reads pairs and refuses anything else with a message', () => {
    expect(parsePortMap('5173:15173, 80:8080')).toEqual(
      new Map([
        [5173, 15173],
        [80, 8080],
      ]),
    );
    expect(parsePortMap('5173')).toMatch(/invalid --map '5173'/);
    expect(parsePortMap('1:2,1:3')).toMatch(/mapped twice/);
    expect(parsePortMap('0:1')).toMatch(/invalid --map/);
  });
});

describe('forwardPorts in devcontainer.json', () => {
  it('takes numbers, "N", "localhost:N", and keeps other hosts apart', () => {
    const set = parseConfigText(
      JSON.stringify({ forwardPorts: [3000, '5432', 'localhost:6379', 'db:5433'] }),
      '.devcontainer/devcontainer.json',
    );
    expect(set.forwardPorts).toEqual([
      { port: 3000, host: null, text: '3000' },
      { port: 5432, host: null, text: '5432' },
      { port: 6379, host: null, text: 'localhost:6379' },
      { port: 5433, host: 'db', text: 'db:5433' },
    ]);
    expect(() => parseConfigText(JSON.stringify({ forwardPorts: [70000] }), 'devcontainer.json')).toThrow(
      /forwardPorts\[0\]: expected a port/,
    );
  });
});

describe('targetCandidates', () => {
  it('a v4 client goes to 127.0.0.1 for 0.0.0.0, and to ::1 then 127.0.0.1 for a dual-stack ::', () => {
    expect(targetCandidates([l('0.0.0.0', 80)], 4)).toEqual([{ address: '127.0.0.1', port: 80, family: 4 }]);
    expect(targetCandidates([l('::', 80)], 4)).toEqual([
      { address: '127.0.0.1', port: 80, family: 4 },
      { address: '::1', port: 80, family: 6 },
    ]);
    expect(targetCandidates([l('::', 80, { dualStack: false })], 4)).toEqual([{ address: '::1', port: 80, family: 6 }]);
  });
  it('prefers the client’s family and keeps a specific address', () => {
    expect(targetCandidates([l('127.0.0.1', 80), l('::1', 80)], 6)[0]).toEqual({ address: '::1', port: 80, family: 6 });
    expect(targetCandidates([l('172.17.0.2', 80)], 4)).toEqual([{ address: '172.17.0.2', port: 80, family: 4 }]);
    expect(targetCandidates([], 4)).toEqual([]);
    expect(wantsIPv6([l('127.0.0.1', 1)])).toBe(false);
    expect(wantsIPv6([l('::', 1)])).toBe(true);
  });
});
