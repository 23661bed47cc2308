/**
 * A target in its own process, so a check can kill it (SIGKILL) the way a crashing service dies:
 * the kernel closes its sockets and its port refuses. Echoes every connection.
 *
 *   node dist/bench/checks/echo-target.js PORT     (0 picks one)
 *   -> stdout: "echo-target listening on 127.0.0.1:PORT"
 */
import net from 'node:net';
import { fileURLToPath } from 'node:url';

/** Path of this script once built, for spawning it. */
export const ECHO_TARGET_SCRIPT = fileURLToPath(import.meta.url);

function main(): void {
  const port = Number(process.argv[2] ?? '0');
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.pipe(socket);
  });
  server.listen(port, '127.0.0.1', () => {
    process.stdout.write(`echo-target listening on 127.0.0.1:${(server.address() as net.AddressInfo).port}\n`);
  });
  process.on('SIGTERM', () => process.exit(0));
}

if (process.argv[1] === ECHO_TARGET_SCRIPT) main();
