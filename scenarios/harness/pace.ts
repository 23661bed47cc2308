/** A reader slower than its writer, for targets that must fall behind. */
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

/**
 * Reads `socket` at no more than `bytesPerS` (0: as fast as it can), pausing it whenever it is
 * ahead of that pace since the call; the pause timer goes with the socket.
 */
export function paceReads(socket: Socket, bytesPerS: number): void {
  if (bytesPerS === 0) return void socket.resume();
  const started = performance.now();
  let taken = 0;
  let timer: NodeJS.Timeout | undefined;
  socket.once('close', () => clearTimeout(timer));
  socket.on('data', (d: Buffer) => {
    taken += d.length;
    const aheadMs = (taken / bytesPerS) * 1000 - (performance.now() - started);
    if (aheadMs > 1) {
      socket.pause();
      clearTimeout(timer);
      timer = setTimeout(() => socket.resume(), aheadMs);
    }
  });
}
