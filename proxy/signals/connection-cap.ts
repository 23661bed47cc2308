import type { Server, Socket } from 'node:net';
import type { AcceptGuard } from '../net/accept-guard.js';

/**
 * The connection cap of a management port (metrics, agent checks, the control API). A newcomer
 * past the cap, or while the process is short of descriptors, makes room by closing the oldest
 * connection that is neither answering nor brand new: an idle keep-alive, or one that had its
 * chance to send a request and has not finished it (a slowloris). So a health check still gets
 * through a port full of slow peers, and the port never holds more than `max`.
 *
 *   new connection --> over max, or descriptors short? --no--> kept
 *                            | yes
 *                            v
 *             oldest not busy, not new? --yes--> that one closed (management-evicted), newcomer kept
 *                            | no
 *                            v
 *             over max: newcomer closed (counted as management-full); else kept
 *
 * "New" means accepted during this or the previous turn of the event loop: its request may be in
 * the kernel, not yet read. Without that, a burst of connects accepted in one go (libuv accepts
 * everything pending at once) would close each arrival for the next before any was read; with
 * it, the first of a burst are served and the rest are refused.
 */
export interface ConnectionCapOptions {
  /** Most connections held at once. */
  max: number;
  /** Counts refusals, tracks descriptors, tells the first of each kind once. */
  guard: AcceptGuard;
  /** Whether a connection is in the middle of an answer, so not to be closed for a newcomer; default never. */
  isBusy?: (socket: Socket) => boolean;
}

/** Live view of a port's cap. */
export interface ConnectionCap {
  /** Connections held now. */
  readonly size: number;
  /** Connections closed so far to make room for newer ones. */
  readonly evicted: number;
  /** Closes every connection held (for shutdown). */
  closeAll(): void;
}

/** Applies the cap to `server` (see the module comment); call before it listens. */
export function capConnections(server: Server, options: ConnectionCapOptions): ConnectionCap {
  if (!Number.isSafeInteger(options.max) || options.max < 1) throw new RangeError(`max connections must be a whole number >= 1, got ${options.max}`);
  const { guard, max } = options;
  const isBusy = options.isBusy ?? (() => false);
  // Arrival order (oldest first) and the loop turn each connection was accepted in.
  const open = new Map<Socket, number>();
  let evicted = 0;
  let turn = 0;
  let turning = false;
  const nextTurn = (): void => {
    turn++;
    turning = false;
    // Keep counting turns while the newest connection is still new.
    if ([...open.values()].some((accepted) => accepted >= turn - 1)) countTurns();
  };
  const countTurns = (): void => {
    if (turning) return;
    turning = true;
    setImmediate(nextTurn);
  };
  const isNew = (socket: Socket): boolean => (open.get(socket) ?? -Infinity) >= turn - 1;

  server.on('connection', (socket: Socket) => {
    guard.track(socket);
    open.set(socket, turn);
    countTurns();
    socket.once('close', () => open.delete(socket));
    const short = !guard.fds.managementHasRoom();
    if (open.size <= max && !(short && open.size > 1)) return;
    for (const old of open.keys()) {
      if (old === socket || isNew(old) || isBusy(old)) continue;
      // Forgotten now, not at its 'close' a tick later: a burst of arrivals must not pick it twice.
      open.delete(old);
      old.destroy();
      evicted++;
      guard.count('management-evicted', `at its cap of ${max} connections, or short of descriptors: the oldest idle or unfinished connection is closed for each newcomer`);
      return;
    }
    if (open.size > max) {
      open.delete(socket);
      socket.destroy();
      guard.count('management-full', `all ${max} connections are answering or just arrived: new ones are closed unanswered`);
    }
  });

  return {
    get size() {
      return open.size;
    },
    get evicted() {
      return evicted;
    },
    closeAll() {
      for (const socket of open.keys()) socket.destroy();
      open.clear();
    },
  };
}
