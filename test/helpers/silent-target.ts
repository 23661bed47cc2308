import { Worker } from 'node:worker_threads';
import { connect, type Socket } from 'node:net';

/**
 * A TCP port that never completes a handshake: a listener in a worker thread whose event loop
 * is blocked (so it never accepts), with its accept queue filled. New SYNs are then dropped,
 * exactly like a target that has vanished behind a firewall.
 */
export interface SilentTarget {
  port: number;
  close(): Promise<void>;
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const net = require('node:net');
const server = net.createServer();
// backlog 1: the kernel queues two handshakes, then drops SYNs while nobody accepts.
server.listen({ host: '127.0.0.1', port: 0, backlog: 1 }, () => {
  parentPort.postMessage(server.address().port);
  setImmediate(() => {
    Atomics.wait(new Int32Array(workerData), 0, 0); // block the loop until told to stop
    server.close();
  });
});
`;

/** Starts a silent target; close() releases the worker and the filler sockets. */
export async function startSilentTarget(): Promise<SilentTarget> {
  const flag = new SharedArrayBuffer(4);
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: flag });
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const fillers: Socket[] = [];
  for (let i = 0; i < 2; i++) {
    const s = connect({ port, host: '127.0.0.1' });
    s.on('error', () => {});
    fillers.push(s);
    await new Promise<void>((resolve) => s.once('connect', () => resolve()));
  }
  return {
    port,
    async close() {
      for (const s of fillers) s.destroy();
      Atomics.store(new Int32Array(flag), 0, 1);
      Atomics.notify(new Int32Array(flag), 0);
      await worker.terminate();
    },
  };
}
