/** Echo on both ends: a target that sends every byte back, and clients that check what came back. */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import type { Seen, ServerTracker } from './hashing-target.js';
import { randomBytes, sha256 } from './random.js';
import type { Scope } from './scope.js';
import { connect, KiB, socketEnd, within, writeAllAndEnd } from './sockets.js';

/** A TCP server whose connections echo everything and end after the client ends. */
export function echoServer(tracker: ServerTracker): Server {
  return tracker.server(createServer({ allowHalfOpen: true }, (s) => s.pipe(s)));
}

/** What one echo client sent, and what came back before the FIN. */
export interface EchoRoundTrip {
  sent: Seen;
  received: Seen;
}

/**
 * `count` clients at once, client i sending randomBytes(bytes, seed + i) to 127.0.0.1:port then
 * FIN, and reading the echo to its FIN; rejects when one fails or `timeoutMs` passes first.
 */
export function echoClients(scope: Scope, port: number, count: number, bytes: number, seed: number, opts: { timeoutMs?: number; writeBytes?: number } = {}): Promise<EchoRoundTrip[]> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const data = randomBytes(bytes, seed + i);
      const socket = await connect(scope, port, 5000, { allowHalfOpen: true });
      const hash = createHash('sha256');
      let got = 0;
      socket.on('data', (d: Buffer) => {
        hash.update(d);
        got += d.length;
      });
      const ended = socketEnd(socket);
      await writeAllAndEnd(socket, data, opts.writeBytes ?? 64 * KiB);
      const end = await within(ended, timeoutMs);
      if (end === null) throw new Error(`no echo end within ${timeoutMs} ms (${got} of ${bytes} bytes back)`);
      if (end.how === 'error') throw new Error(`the echo failed after ${got} of ${bytes} bytes: ${end.code}`);
      return { sent: { bytes: data.length, sha256: sha256(data) }, received: { bytes: got, sha256: hash.digest('hex') } };
    }),
  );
}
