/**
 * Which listeners the HTTP probe leaves alone. A `GET /` sent to a server of another
 * protocol is at best ignored and at worst logged as an attack on every start (redis:
 * "Possible SECURITY ATTACK detected", sshd: "invalid protocol identifier", rsyslog files
 * it as a log line), so well-known non-HTTP servers are recognised by port and, because
 * they often run on other ports, by process name too. Pure.
 */
import type { Listener } from '../listener.js';

/**
 * Well-known ports of protocols that are not HTTP: FTP, SSH, telnet, SMTP, DNS, POP3,
 * rpcbind, IMAP, LDAP, SMB, submission, rsync, IMAPS, POP3S, MQTT, ZooKeeper, MySQL, NATS,
 * epmd, PostgreSQL, AMQP, VNC, X11, Redis, Cassandra, Kafka, git, Memcached, MongoDB.
 */
export const NON_HTTP_PORTS: ReadonlySet<number> = new Set([
  21, 22, 23, 25, 53, 110, 111, 143, 389, 445, 587, 873, 993, 995, 1883, 2181, 3306, 4222, 4369, 5432, 5672, 5900, 6000, 6379, 9042, 9092,
  9418, 11211, 27017,
]);

/**
 * Process names (the kernel's comm, at most 15 characters) of servers that never speak
 * HTTP on any port. Left out on purpose: runtimes that may serve HTTP as well as something
 * else (java for Kafka or ZooKeeper, beam.smp for RabbitMQ but also Phoenix, etcd and
 * CoreDNS with their HTTP endpoints, clickhouse-server); their well-known ports still count.
 */
export const NON_HTTP_PROCESSES: ReadonlySet<string> = new Set([
  // databases, caches, brokers
  'redis-server',
  'redis-sentinel',
  'valkey-server',
  'keydb-server',
  'postgres',
  'postmaster',
  'pgbouncer',
  'mysqld',
  'mariadbd',
  'mongod',
  'mongos',
  'memcached',
  'epmd',
  'mosquitto',
  'nats-server',
  'beanstalkd',
  // remote access
  'sshd',
  'dropbear',
  'in.telnetd',
  'Xorg',
  'Xvnc',
  'x11vnc',
  'xrdp',
  // mail
  'exim4',
  'exim',
  'dovecot',
  'smtpd',
  // name service
  'named',
  'dnsmasq',
  'unbound',
  'systemd-resolve',
  'pdns_server',
  'knotd',
  // files, directories, logs, tunnels
  'smbd',
  'nmbd',
  'rpcbind',
  'rpc.statd',
  'rpc.mountd',
  'vsftpd',
  'proftpd',
  'pure-ftpd',
  'rsync',
  'git-daemon',
  'svnserve',
  'slapd',
  'krb5kdc',
  'rsyslogd',
  'syslog-ng',
  'tor',
  'openvpn',
]);

/** Should the HTTP probe connect to this listener? TCP only, and not a well-known non-HTTP server. */
export function shouldProbe(l: Pick<Listener, 'protocol' | 'port' | 'process'>): boolean {
  if (l.protocol !== 'tcp' || NON_HTTP_PORTS.has(l.port)) return false;
  return l.process === null || !NON_HTTP_PROCESSES.has(l.process.name);
}
