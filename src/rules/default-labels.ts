/**
 * Labels without any config: what a well-known server or dev tool is called, as people
 * would name it in VS Code's Ports view. Pure. The first answer wins, in this order:
 *
 *   1. the process name (the kernel's comm) of a server binary: postgres on any port is
 *      PostgreSQL, redis-server on 6380 is Redis;
 *   2. a debugger port, whatever the program (`node --inspect` of a Vite process is the
 *      Node inspector on 9229, not Vite);
 *   3. the command line of a dev tool that runs under a runtime (node, python, ruby), whose
 *      comm says only "node": Vite, Next.js, Angular, Storybook, Django, …;
 *   4. the port alone, a guess: 5173 Vite, 5432 PostgreSQL, 3000 web app, ….
 *
 * Left out on purpose: ports that too many things use to name one (8000, 8080, 5000, 8081),
 * and runtimes' names (node, python3, java): a wrong label is worse than none.
 * A config's label (rules, portsAttributes) always wins over these.
 */
import type { Listener, Protocol } from '../listener.js';

/** Server binaries by comm (at most 15 characters). */
const BY_PROCESS: ReadonlyMap<string, string> = new Map([
  ['postgres', 'PostgreSQL'],
  ['postmaster', 'PostgreSQL'],
  ['mysqld', 'MySQL'],
  ['mariadbd', 'MariaDB'],
  ['mongod', 'MongoDB'],
  ['mongos', 'MongoDB'],
  ['redis-server', 'Redis'],
  ['valkey-server', 'Valkey'],
  ['memcached', 'Memcached'],
  ['nginx', 'nginx'],
  ['httpd', 'Apache'],
  ['apache2', 'Apache'],
  ['caddy', 'Caddy'],
  ['sshd', 'SSH'],
  ['dnsmasq', 'DNS'],
  ['named', 'DNS'],
  ['unbound', 'DNS'],
  ['systemd-resolve', 'DNS'],
  ['cupsd', 'CUPS'],
  ['avahi-daemon', 'mDNS'],
  ['chronyd', 'NTP'],
  ['ntpd', 'NTP'],
  ['mosquitto', 'MQTT'],
  ['docker-proxy', 'Docker'],
  ['ollama', 'Ollama'],
  ['prometheus', 'Prometheus'],
  ['grafana', 'Grafana'],
  ['grafana-server', 'Grafana'],
  ['hugo', 'Hugo'],
]);

/** Ports that are a debugger whatever opened them. */
const DEBUG_PORTS: ReadonlyMap<number, string> = new Map([[9229, 'Node inspector']]);

/** Dev tools by command line; a name must stand as a word or a path's last part (`…/.bin/vite`). */
const BY_COMMAND: readonly (readonly [RegExp, string])[] = [
  [/(?:^|[\s/])vite(?:\.js)?(?:\s|$)/, 'Vite'],
  [/(?:^|[\s/])next(?:\.js)?\s+(?:dev|start)(?:\s|$)|^next-server\b/, 'Next.js'],
  [/(?:^|[\s/])ng(?:\.js)?\s+(?:serve|s)(?:\s|$)/, 'Angular'],
  [/(?:^|[\s/])nuxi?(?:\.m?js)?\s+(?:dev|preview|start)(?:\s|$)/, 'Nuxt'],
  [/(?:^|[\s/])astro(?:\.m?js)?\s+(?:dev|preview)(?:\s|$)/, 'Astro'],
  [/(?:^|[\s/])(?:storybook|start-storybook)(?:\.m?js)?(?:\s|$)/, 'Storybook'],
  [/(?:^|[\s/])webpack(?:-dev-server|(?:\.js)?\s+serve)(?:\.js)?(?:\s|$)/, 'webpack'],
  [/(?:^|[\s/])jupyter(?:-|\s+)(?:lab|notebook|server)(?:\s|$)/, 'Jupyter'],
  [/(?:^|[\s/])manage\.py\s+runserver(?:\s|$)/, 'Django'],
  [/(?:^|[\s/])flask\s+run(?:\s|$)/, 'Flask'],
  [/(?:^|[\s/])uvicorn(?:\s|$)/, 'Uvicorn'],
  [/(?:^|[\s/])rails\s+(?:s|server)(?:\s|$)/, 'Rails'],
];

const TCP: readonly Protocol[] = ['tcp'];
const UDP: readonly Protocol[] = ['udp'];
const BOTH: readonly Protocol[] = ['tcp', 'udp'];

/** A guess from the port alone. */
const BY_PORT: ReadonlyMap<number, { label: string; protocols: readonly Protocol[] }> = new Map(
  (
    [
      [22, 'SSH', TCP],
      [53, 'DNS', BOTH],
      [80, 'HTTP', TCP],
      [443, 'HTTPS', BOTH],
      [1433, 'SQL Server', TCP],
      [3000, 'web app', TCP],
      [3306, 'MySQL', TCP],
      [4173, 'Vite preview', TCP],
      [4200, 'Angular', TCP],
      [5173, 'Vite', TCP],
      [5353, 'mDNS', UDP],
      [5432, 'PostgreSQL', TCP],
      [5672, 'RabbitMQ', TCP],
      [6006, 'Storybook', TCP],
      [6379, 'Redis', TCP],
      [8888, 'Jupyter', TCP],
      [9090, 'Prometheus', TCP],
      [9200, 'Elasticsearch', TCP],
      [9222, 'Chrome DevTools', TCP],
      [11211, 'Memcached', TCP],
      [11434, 'Ollama', TCP],
      [27017, 'MongoDB', TCP],
    ] as const
  ).map(([port, label, protocols]) => [port, { label, protocols }]),
);

/** The default label of a listener, or null. */
export function defaultLabel(l: Pick<Listener, 'protocol' | 'port' | 'process'>): string | null {
  const byName = l.process ? BY_PROCESS.get(l.process.name) : undefined;
  if (byName !== undefined) return byName;
  const debug = l.protocol === 'tcp' ? DEBUG_PORTS.get(l.port) : undefined;
  if (debug !== undefined) return debug;
  if (l.process) {
    const command = l.process.command;
    for (const [re, label] of BY_COMMAND) if (re.test(command)) return label;
  }
  const guess = BY_PORT.get(l.port);
  return guess !== undefined && guess.protocols.includes(l.protocol) ? guess.label : null;
}
