/**
 * A process that does nothing but relay one connection with the splice relay, for
 * splice-relay-process.test.ts: it accepts one connection (then closes its listener),
 * connects to 127.0.0.1:<argv[2]>, hands both sockets to the relay and prints one JSON line
 * per step: {"port"}, {"spliced"}, then the relay's end. SIGUSR2 cuts the relay. Nothing
 * else keeps it alive, so it must exit by itself once the relay has ended.
 */
import net from 'node:net';
import { spliceRelay } from '../../dist/forward/splice-relay.js';

const appPort = Number(process.argv[2]);
const say = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
setTimeout(() => process.exit(4), 60_000).unref();

const front = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (client) => {
  front.close();
  const upstream = net.connect({ port: appPort, host: '127.0.0.1', allowHalfOpen: true }, () => {
    const r = spliceRelay(client, upstream);
    if (r === null) {
      say({ error: 'not spliced' });
      process.exit(3);
    }
    process.on('SIGUSR2', () => r.destroy()); // signal listeners keep nothing alive
    say({ spliced: true });
    void r.ended.then(say);
  });
});
front.listen(0, '127.0.0.1', () => say({ port: front.address().port }));
