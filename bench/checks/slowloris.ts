/**
 * A slowloris in its own process, as an attacker is: it keeps COUNT connections to a port, each
 * sending half an HTTP request and nothing more; each one closed is opened again REOPEN_MS later,
 * until SIGTERM. The checker's own event loop stays free for the clients it measures.
 *
 *   node dist/bench/checks/slowloris.js PORT COUNT REOPEN_MS
 *   -> stdout: "slowloris connected N" once COUNT are connected (or after 5 s), and on SIGTERM
 *      "slowloris opened N closed-by-peer M" before exiting
 */
import net from 'node:net';
import { fileURLToPath } from 'node:url';

/** Path of this script once built, for spawning it. */
export const SLOWLORIS_SCRIPT = fileURLToPath(import.meta.url);

const HALF_REQUEST = 'GET /metrics HTTP/1.1\r\nHost: sluice\r\n';

function main(): void {
  const [port, count, reopenMs] = process.argv.slice(2, 5).map(Number) as [number, number, number];
  let opened = 0;
  let connected = 0;
  let closedByPeer = 0;
  let stopping = false;
  let told = false;
  const tellConnected = (): void => {
    if (told) return;
    told = true;
    process.stdout.write(`slowloris connected ${connected}\n`);
  };
  const open = (): void => {
    opened++;
    const socket = net.connect({ port, host: '127.0.0.1' });
    let wasConnected = false;
    socket.on('error', () => {});
    socket.once('connect', () => {
      wasConnected = true;
      if (++connected >= count) tellConnected();
      socket.write(HALF_REQUEST);
    });
    socket.resume();
    socket.once('close', () => {
      if (wasConnected) closedByPeer++;
      if (!stopping) setTimeout(open, reopenMs);
    });
  };
  for (let i = 0; i < count; i++) open();
  setTimeout(tellConnected, 5000).unref();
  process.on('SIGTERM', () => {
    stopping = true;
    process.stdout.write(`slowloris opened ${opened} closed-by-peer ${closedByPeer}\n`, () => process.exit(0));
  });
}

if (process.argv[1] === SLOWLORIS_SCRIPT) main();
