import type { Duplex } from 'node:stream';

/**
 * Closes a duplex with a TCP reset when it can carry one (net.Socket over TCP), else destroys it
 * (unix sockets, TLS over a closed handle and in-memory pairs have no reset to send).
 *
 * Not while our FIN is in flight: once end() was called with nothing left to write, Node has asked
 * libuv to shut the write side down, and until that completes ('finish') libuv refuses a reset
 * (uv_tcp_close_reset: EINVAL). Node then emits that EINVAL and drops the handle without closing
 * it: no 'close' ever, the descriptor leaks, and whoever waits for 'close' (a Relay, and the slot
 * it holds) waits for good. Such a socket is reset as soon as its FIN is out.
 */
export function resetOrDestroy(stream: Duplex): void {
  const resettable = stream as Duplex & { resetAndDestroy?: () => unknown };
  if (typeof resettable.resetAndDestroy === 'function') {
    if (!stream.destroyed && stream.writableEnded && !stream.writableFinished && stream.writableLength === 0) {
      const later = (): void => {
        stream.off('finish', later);
        stream.off('close', later);
        if (!stream.destroyed) resetOrDestroy(stream);
      };
      stream.once('finish', later);
      stream.once('close', later);
      return;
    }
    try {
      resettable.resetAndDestroy();
      return;
    } catch {
      // Not a TCP handle (unix socket): a plain close is the closest we can signal.
    }
  }
  stream.destroy();
}
