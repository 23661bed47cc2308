import type { Duplex } from 'node:stream';

/**
 * Closes a duplex with a TCP reset when it can carry one (net.Socket over TCP), else destroys it
 * (unix sockets, TLS over a closed handle and in-memory pairs have no reset to send).
 */
export function resetOrDestroy(stream: Duplex): void {
  const resettable = stream as Duplex & { resetAndDestroy?: () => unknown };
  if (typeof resettable.resetAndDestroy === 'function') {
    try {
      resettable.resetAndDestroy();
      return;
    } catch {
      // Not a TCP handle (unix socket): a plain close is the closest we can signal.
    }
  }
  stream.destroy();
}
