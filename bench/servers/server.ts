/**
 * The built-in case servers, run in their own process (as iperf3 and redis-server are) so the
 * bench's load generator does not share an event loop with the far end:
 *
 *   sink  counts bytes and when the first and last arrived (bulk without iperf3)
 *   echo  writes back what it reads (request rate without redis)
 *   idle  accepts and holds connections, never writes (1000 connections)
 *
 * The parent talks to it over the IPC channel; see `server-handle.ts`.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { ServerReply, ServerRequest } from './protocol.js';

const kind = process.argv[2];
const now = (): number => performance.timeOrigin + performance.now();

let bytes = 0;
let firstByteAt = 0;
let lastByteAt = 0;
let accepted = 0;
let firstAcceptAt = 0;
let lastAcceptAt = 0;
let acceptWaiter: { id: number; count: number } | null = null;
const sockets = new Set<net.Socket>();

function send(reply: ServerReply): void {
  process.send?.(reply);
}

function checkAcceptWaiter(): void {
  if (acceptWaiter && accepted >= acceptWaiter.count) {
    send({ id: acceptWaiter.id, accepted, firstAcceptAt, lastAcceptAt });
    acceptWaiter = null;
  }
}

const server = net.createServer({ noDelay: true }, (socket) => {
  accepted += 1;
  lastAcceptAt = now();
  if (accepted === 1) firstAcceptAt = lastAcceptAt;
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
  socket.on('error', () => {});
  switch (kind) {
    case 'sink':
      socket.on('data', (chunk: Buffer) => {
        lastByteAt = now();
        if (bytes === 0) firstByteAt = lastByteAt;
        bytes += chunk.length;
      });
      break;
    case 'echo':
      socket.on('data', (chunk: Buffer) => socket.write(chunk));
      break;
    case 'idle':
      break;
  }
  checkAcceptWaiter();
});

process.on('message', (msg: ServerRequest) => {
  switch (msg.type) {
    case 'reset':
      bytes = firstByteAt = lastByteAt = 0;
      accepted = firstAcceptAt = lastAcceptAt = 0;
      send({ id: msg.id });
      break;
    case 'stats':
      send({ id: msg.id, bytes, firstByteAt, lastByteAt, accepted, firstAcceptAt, lastAcceptAt, open: sockets.size });
      break;
    case 'await-accepted':
      acceptWaiter = { id: msg.id, count: msg.count };
      checkAcceptWaiter();
      break;
    case 'drop-all':
      for (const s of sockets) s.destroy();
      send({ id: msg.id });
      break;
  }
});

// Exit with the parent rather than linger if the bench dies.
process.on('disconnect', () => process.exit(0));

server.listen(0, '127.0.0.1', 1024, () => {
  send({ id: 0, port: (server.address() as net.AddressInfo).port });
});
