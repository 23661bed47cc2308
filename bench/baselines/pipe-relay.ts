/**
 * The baseline every sluice figure is compared with: the relay most people would write first.
 * It takes the same --listen/--target flags and prints the same ready line as `sluice relay`,
 * so the bench starts both the same way. Deliberately nothing more than two pipe() calls:
 * its cost is the point.
 */
import net from 'node:net';
import { hostPortFlag } from './host-port.js';

const listen = hostPortFlag('--listen', 'pipe-relay');
const target = hostPortFlag('--target', 'pipe-relay');

const server = net.createServer((client) => {
  const upstream = net.connect(target.port, target.host);
  client.pipe(upstream);
  upstream.pipe(client);
  // Without these an RST on one side would crash the relay. A normal end travels through
  // pipe(), which flushes before it ends the other side.
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
});

server.listen(listen.port, listen.host, () => {
  const { address, port } = server.address() as net.AddressInfo;
  process.stdout.write(`pipe relay listening on ${address}:${port}\n`);
});
