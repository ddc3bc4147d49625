import { describe, expect, it } from 'vitest';
import { createRules, EMPTY_RULE_SET, parseConfigText } from '../../src/rules/index.js';
import { defaultLabel } from '../../src/rules/default-labels.js';
import { listener, proc } from './make-listener.js';

const node = (command: string) => proc({ name: 'node', command });

describe('defaultLabel', () => {
  it.each([
    ['a well-known port, by any process', listener({ port: 5432 }), 'PostgreSQL'],
    ['a well-known port whose owner is unknown', listener({ port: 6379, process: null }), 'Redis'],
    [
      'a server binary on any port: the process name wins over the port',
      listener({ port: 5433, process: proc({ name: 'postgres' }) }),
      'PostgreSQL',
    ],
    ['redis-server on the Vite port', listener({ port: 5173, process: proc({ name: 'redis-server' }) }), 'Redis'],
    ['node on 5173: the port says Vite', listener({ port: 5173, process: node('node server.js') }), 'Vite'],
    [
      'vite on another port: the command says Vite',
      listener({ port: 5174, process: node('node /app/node_modules/.bin/vite --port 5174') }),
      'Vite',
    ],
    ['vite.js by its path', listener({ port: 40000, process: node('node /app/node_modules/vite/bin/vite.js') }), 'Vite'],
    [
      'the inspector of a Vite process is the inspector',
      listener({ port: 9229, process: node('node --inspect node_modules/.bin/vite') }),
      'Node inspector',
    ],
    ['next dev', listener({ port: 3001, process: node('node /app/node_modules/.bin/next dev -p 3001') }), 'Next.js'],
    ['ng serve', listener({ port: 4201, process: node('node /app/node_modules/.bin/ng serve --port 4201') }), 'Angular'],
    ['manage.py runserver', listener({ port: 8000, process: proc({ name: 'python3', command: 'python3 manage.py runserver' }) }), 'Django'],
    ['3000 with nothing better known', listener({ port: 3000 }), 'web app'],
    ['DNS over UDP', listener({ protocol: 'udp', port: 53 }), 'DNS'],
  ])('%s', (_, l, label) => {
    expect(defaultLabel(l)).toBe(label);
  });

  it.each([
    ['an unknown port', listener({ port: 4000 })],
    ['a TCP-only guess on UDP', listener({ protocol: 'udp', port: 5432 })],
    ['a port too many things use', listener({ port: 8080 })],
    ['a word that only contains a tool name', listener({ port: 4001, process: node('node invite-server.js') })],
    ['a runtime name alone', listener({ port: 4002, process: proc({ name: 'python3', command: 'python3 app.py' }) })],
  ])('none for %s', (_, l) => {
    expect(defaultLabel(l)).toBeNull();
  });
});

describe('in the rules', () => {
  it('off unless asked for (the library keeps null labels); the CLI asks', () => {
    expect(createRules(EMPTY_RULE_SET).label(listener({ port: 5432 }))).toBeNull();
    expect(createRules(EMPTY_RULE_SET, null, { defaultLabels: true }).label(listener({ port: 5432 }))).toBe('PostgreSQL');
  });

  it("a config's label wins over a default; ports it does not name keep theirs", () => {
    const set = parseConfigText(JSON.stringify({ label: [{ port: 5173, label: 'Frontend' }] }), 'p.json');
    const rules = createRules(set, 'p.json', { defaultLabels: true });
    expect(rules.label(listener({ port: 5173 }))).toBe('Frontend');
    expect(rules.label(listener({ port: 5432 }))).toBe('PostgreSQL');
  });

  it('so does a portsAttributes label, and otherPortsAttributes with a label names every other port', () => {
    const set = parseConfigText(
      JSON.stringify({ portsAttributes: { '6379': { label: 'cache' } }, otherPortsAttributes: { label: 'other' } }),
      '.devcontainer/devcontainer.json',
    );
    const rules = createRules(set, 'devcontainer.json', { defaultLabels: true });
    expect(rules.label(listener({ port: 6379 }))).toBe('cache');
    expect(rules.label(listener({ port: 5432 }))).toBe('other');
  });
});
