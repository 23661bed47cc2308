/**
 * The baseline every sluice figure is compared with: the relay most people would write first.
 * It takes the same --listen/--target flags and prints the same ready line as `sluice relay`,
 * so the bench starts both the same way. Deliberately nothing more than two pipe() calls:
 * its cost is the point.
 */
import net from 'node:net';

function hostPort(flag: string): { host: string; port: number } {
  const i = process.argv.indexOf(flag);
  const value = i >= 0 ? process.argv[i + 1] : undefined;
  const match = value?.match(/^\[?([^\]]+)\]?:(\d+)$/);
  if (!match) {
    process.stderr.write(`pipe-relay: ${flag} HOST:PORT is required\n`);
    process.exit(2);
  }
  return { host: match[1]!, port: Number(match[2]) };
}

const listen = hostPort('--listen');
const target = hostPort('--target');

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
