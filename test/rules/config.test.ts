import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PortwatchError } from '../../src/errors.js';
import { compileConfig, isDevcontainerFile, parseConfigText } from '../../src/rules/config.js';
import { readConfigFile } from '../../src/rules/load.js';
import { createRules } from '../../src/rules/rules.js';
import type { ProcReader } from '../../src/rules/proc.js';
import { fixture } from '../helpers/fixtures.js';
import { listener, proc } from './make-listener.js';

const noProc: ProcReader = { stat: () => null, environ: () => null };
const fixturePath = (name: string): string => new URL(`../fixtures/rules/${name}`, import.meta.url).pathname;
const rulesOf = (name: string) => createRules(parseConfigText(fixture(`rules/${name}`), name), name, { procReader: noProc, ownPid: 1 });

describe('portwatch.json', () => {
  const rules = rulesOf('portwatch.json');

  it('ignores by port, process name, command (with protocol) and address', () => {
    expect(rules.whyIgnored(listener({ port: 9229 }))).toBe('ignore rule: port 9229');
    expect(rules.whyIgnored(listener({ process: proc({ name: 'code-server' }) }))).toBe('ignore rule: process /^code-server$/');
    expect(rules.whyIgnored(listener({ process: proc({ command: 'node node_modules/.bin/vitest run' }) }))).toBe(
      'ignore rule: tcp command /vitest|playwright/',
    );
    expect(rules.filter(listener({ protocol: 'udp', process: proc({ command: 'vitest' }) }))).toBe(true); // the rule says tcp
    expect(rules.filter(listener({ address: '127.0.0.53', port: 53, protocol: 'udp' }))).toBe(false);
    expect(rules.filter(listener({ port: 3000 }))).toBe(true);
    expect(rules.filter(listener({ process: null }))).toBe(true); // process rules never match an unknown owner
  });

  it('labels: the first matching label rule, then portsAttributes', () => {
    expect(rules.label(listener({ port: 5173 }))).toBe('Vite');
    expect(rules.label(listener({ port: 5432, process: proc({ name: 'postgres' }) }))).toBe('database');
    expect(rules.label(listener({ port: 3000, address: '127.0.0.1' }))).toBe('app (local)');
    expect(rules.label(listener({ port: 3000, family: 6, address: '::1' }))).toBe('app (local)');
    expect(rules.label(listener({ port: 3000, address: '0.0.0.0' }))).toBe('app'); // not local: portsAttributes
    expect(rules.label(listener({ port: 4000 }))).toBeNull();
  });

  it('silent rules and onAutoForward "silent" list without announcing', () => {
    expect(rules.announce(listener({ port: 45000 }))).toBe(false);
    expect(rules.filter(listener({ port: 45000 }))).toBe(true);
    expect(rules.announce(listener({ port: 8080 }))).toBe(false);
    expect(rules.announce(listener({ port: 3000 }))).toBe(true);
  });

  it('describes itself in one line', () => {
    expect(rules.describe()).toBe(
      "config portwatch.json (4 ignore rules, 1 silent rule, 3 label rules, 2 portsAttributes entries); PORTWATCH_IGNORE processes ignored; portwatch's own listeners ignored",
    );
  });
});

describe('devcontainer.json (JSON with comments)', () => {
  const rules = rulesOf('devcontainer.json');

  it('is recognised by its name', () => {
    expect(isDevcontainerFile('/w/.devcontainer/devcontainer.json')).toBe(true);
    expect(isDevcontainerFile('/w/.devcontainer.json')).toBe(true);
    expect(isDevcontainerFile('/w/portwatch.json')).toBe(false);
    expect(isDevcontainerFile('/w/my-devcontainer.json.bak')).toBe(false);
  });

  it('applies portsAttributes: exact port, host:port, range, then regex on the command line', () => {
    expect(rules.label(listener({ port: 3000 }))).toBe('Application');
    expect(rules.label(listener({ port: 5173 }))).toBe('Vite');
    expect(rules.label(listener({ port: 6005 }))).toBe('workers');
    expect(rules.announce(listener({ port: 6005 }))).toBe(false);
    expect(rules.filter(listener({ port: 6005 }))).toBe(true);
    expect(rules.label(listener({ port: 5432 }))).toBe('Postgres');
    expect(rules.label(listener({ port: 6006, process: proc({ command: 'node node_modules/.bin/storybook dev' }) }))).toBe('workers'); // range before regex
    expect(rules.label(listener({ port: 6106, process: proc({ command: 'node node_modules/.bin/storybook dev' }) }))).toBe('Storybook');
  });

  it('onAutoForward "ignore" hides, and otherPortsAttributes applies to every other port', () => {
    expect(rules.whyIgnored(listener({ port: 9229 }))).toBe('portsAttributes: onAutoForward "ignore"');
    expect(rules.filter(listener({ port: 4444 }))).toBe(false);
    expect(rules.filter(listener({ port: 3000 }))).toBe(true);
  });

  it('reads customizations.portwatch for the portwatch.json fields', () => {
    expect(rules.label(listener({ port: 6379, process: proc({ name: 'redis-server' }) }))).toBe('cache');
  });

  it('ignores the rest of the file, but not in a portwatch.json', () => {
    expect(() => compileConfig({ name: 'x', image: 'y', features: {} }, { devcontainer: true })).not.toThrow();
    expect(() => compileConfig({ name: 'x' })).toThrow(/name: unknown field/);
  });
});

describe('bad config files: one line, naming the file, where and why', () => {
  it.each([
    ['bad-truncated.json', "invalid JSON at line 1, column 32: unexpected end of input: expected ']'"],
    ['bad-unknown-field.json', 'ignore[0].prot: unknown field (did you mean "port"?)'],
    ['bad-port.json', 'label[0].port: invalid port 70000: use a number from 1 to 65535'],
    ['bad-regex.json', "ignore[0].process: invalid regular expression '(': missing closing ): `(`"],
    ['bad-empty-rule.json', 'ignore[0]: matches every listener: say what to match with port, protocol, address, process, command'],
    ['bad-label-missing.json', 'label[0]: a label rule needs a "label"'],
    [
      'bad-on-auto-forward.json',
      'portsAttributes["3000"].onAutoForward: expected one of notify, openBrowser, openBrowserOnce, openPreview, silent, ignore, got "loud"',
    ],
    ['bad-top-level.json', 'ignores: unknown field (did you mean "ignore"?)'],
    ['bad-not-object.json', 'expected a JSON object at the top level, got a list'],
    ['bad-address.json', 'ignore[0].address: \'localhost\' is not an IP address or CIDR block (e.g. "127.0.0.1", "::1", "10.0.0.0/8")'],
  ])('%s', (name, reason) => {
    let error: unknown;
    try {
      readConfigFile(fixturePath(name), `conf/${name}`);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PortwatchError);
    expect((error as PortwatchError).code).toBe('EUSAGE');
    expect((error as PortwatchError).message).toBe(`conf/${name}: ${reason}`);
  });

  it.each([
    [{ ignore: { port: 1 } }, 'ignore: expected a list of rules like [{ "port": 9229 }], got an object'],
    [{ ignore: [{ port: '3000-2000' }] }, "ignore[0].port: invalid port range '3000-2000': the first port must not be above the second"],
    [{ ignore: [{ port: [] }] }, 'ignore[0].port: an empty list matches no port; remove it or name ports'],
    [{ ignore: [{ port: [80, 'x'] }] }, "ignore[0].port[1]: invalid port 'x': use a number from 1 to 65535"],
    [{ ignore: [{ port: 1.5 }] }, 'ignore[0].port: invalid port 1.5: use a number from 1 to 65535'],
    [{ ignore: [{ protocol: 'sctp' }] }, 'ignore[0].protocol: expected "tcp" or "udp", got "sctp"'],
    [{ ignore: [{ address: '10.0.0.0/33' }] }, "ignore[0].address: '10.0.0.0/33': the prefix length must be 0-32"],
    [{ ignore: [{ command: 42 }] }, 'ignore[0].command: expected a regular expression as a string, got number 42'],
    [{ label: [{ port: 1, label: '' }] }, 'label[0].label: a label must not be empty'],
    [{ label: [{ port: 1, label: 'a\nb' }] }, 'label[0].label: a label must not contain control characters'],
    [{ portsAttributes: { '(': {} } }, 'portsAttributes["("]: invalid regular expression \'(\': missing closing ): `(`'],
    [
      { portsAttributes: { '3000': 'App' } },
      'portsAttributes["3000"]: expected an object like { "label": "App", "onAutoForward": "notify" }, got "App"',
    ],
    [{ portsAttributes: { '99999': {} } }, `portsAttributes["99999"]: invalid port '99999': use a number from 1 to 65535`],
    [{ otherPortsAttributes: { elevateIfNeeded: 'yes' } }, 'otherPortsAttributes.elevateIfNeeded: expected true or false, got "yes"'],
  ])('%j', (value, reason) => {
    expect(() => parseConfigText(JSON.stringify(value), 'portwatch.json')).toThrow(
      new PortwatchError('EUSAGE', `portwatch.json: ${reason}`),
    );
  });
});

/** Values shaped like configs, with arbitrary leaves: the validator's real input space. */
const leaf = fc.oneof(
  fc.jsonValue(),
  fc.integer({ min: -5, max: 70000 }),
  fc.constantFrom('80', '3000-3010', '1-0', '(', '.*', '::1', '10.0.0.0/8', 'tcp', 'udp', 'ignore', 'silent', ''),
);
const rule = fc.dictionary(fc.constantFrom('port', 'protocol', 'address', 'process', 'command', 'label', 'porT'), leaf, { maxKeys: 4 });
const attributes = fc.dictionary(fc.constantFrom('label', 'onAutoForward', 'elevateIfNeeded', 'protocol', 'other'), leaf, { maxKeys: 3 });
const configLike = fc.dictionary(
  fc.constantFrom('ignore', 'silent', 'label', 'portsAttributes', 'otherPortsAttributes', '$schema', 'customizations', 'x'),
  fc.oneof(
    fc.array(fc.oneof(rule, leaf), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 12 }), attributes, { maxKeys: 3 }),
    attributes,
    leaf,
  ),
  { maxKeys: 5 },
);

const escape = (t: string): string => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const validMatcher = fc
  .record(
    {
      port: fc.oneof(fc.integer({ min: 1, max: 65535 }), fc.constantFrom('80,443', '3000-3010', '1-65535')),
      protocol: fc.constantFrom('tcp', 'udp'),
      address: fc.constantFrom('127.0.0.1', '::1', '10.0.0.0/8', ['0.0.0.0', '::'], '::ffff:127.0.0.1'),
      process: fc.oneof(fc.constantFrom('^node$', 'py', '.*'), fc.string({ maxLength: 8 }).map(escape)),
      command: fc.oneof(fc.constantFrom('vite', '(a|b)+$', '\\d'), fc.string({ maxLength: 8 }).map(escape)),
    },
    { requiredKeys: [] },
  )
  .filter((m) => Object.keys(m).length > 0);
// eslint-disable-next-line no-control-regex -- labels must not carry control characters
const validLabel = fc.string({ minLength: 1, maxLength: 20 }).filter((t) => t.trim() !== '' && !/[\u0000-\u001f\u007f]/.test(t));
const validAttributes = fc.record(
  { label: validLabel, onAutoForward: fc.constantFrom('notify', 'silent', 'ignore', 'openBrowser') },
  { requiredKeys: [] },
);
const validConfig = fc
  .record(
    {
      ignore: fc.array(validMatcher, { maxLength: 3 }),
      silent: fc.array(validMatcher, { maxLength: 2 }),
      label: fc.array(
        fc.tuple(validMatcher, validLabel).map(([m, label]) => ({ ...m, label })),
        { maxLength: 3 },
      ),
      portsAttributes: fc.dictionary(
        fc.oneof(fc.integer({ min: 1, max: 65535 }).map(String), fc.constantFrom('3000-3010', 'localhost:8080', 'node .*vite', '^python')),
        validAttributes,
        { maxKeys: 3 },
      ),
      otherPortsAttributes: validAttributes,
    },
    { requiredKeys: [] },
  )
  .filter(
    (c) => (c.ignore?.length ?? 0) + (c.silent?.length ?? 0) + (c.label?.length ?? 0) + Object.keys(c.portsAttributes ?? {}).length > 0,
  );

function onlyUsageErrors(text: string, file: string): void {
  try {
    parseConfigText(text, file);
  } catch (e) {
    expect(e).toBeInstanceOf(PortwatchError);
    expect((e as PortwatchError).code).toBe('EUSAGE');
    expect((e as PortwatchError).message.startsWith(`${file}: `)).toBe(true);
    expect((e as PortwatchError).message).not.toMatch(/[\n\r\u2028\u2029]/);
  }
}

describe('config validation never throws anything but a one-line EUSAGE naming the file', () => {
  it('for config-shaped values', () => {
    fc.assert(
      fc.property(configLike, fc.constantFrom('portwatch.json', '.devcontainer/devcontainer.json'), (value, file) =>
        onlyUsageErrors(JSON.stringify(value), file),
      ),
      { numRuns: 1000 },
    );
  });

  it('for any JSON value and any text', () => {
    fc.assert(
      fc.property(fc.oneof(fc.json(), fc.string({ unit: 'binary' })), (text) => onlyUsageErrors(text, 'p.json')),
      { numRuns: 500 },
    );
  });

  it('and a valid config gives rules that answer for any listener without throwing', () => {
    const anyListener = fc.record({
      port: fc.integer({ min: 1, max: 65535 }),
      protocol: fc.constantFrom('tcp' as const, 'udp' as const),
      family: fc.constantFrom(4 as const, 6 as const),
      name: fc.string({ maxLength: 15 }),
      command: fc.string({ maxLength: 60 }),
      known: fc.boolean(),
    });
    fc.assert(
      fc.property(validConfig, anyListener, (value, l) => {
        const set = compileConfig(value);
        expect(set.ignore.length + set.silent.length + set.labels.length + (set.attributes?.size ?? 0)).toBeGreaterThan(0);
        const rules = createRules(set, 'p.json', { procReader: noProc });
        const subject = listener({
          port: l.port,
          protocol: l.protocol,
          family: l.family,
          address: l.family === 4 ? '127.0.0.1' : '::1',
          process: l.known ? proc({ name: l.name, command: l.command }) : null,
        });
        expect(typeof rules.filter(subject)).toBe('boolean');
        expect(typeof rules.announce(subject)).toBe('boolean');
        const label = rules.label(subject);
        expect(label === null || typeof label === 'string').toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});
