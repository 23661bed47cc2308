/**
 * A target that reads each connection to its end, then answers with `<bytes> <sha256>\n` and
 * ends: the client learns what arrived without the bytes coming back. Connections can be stalled
 * (not read) until released.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { listen } from './sockets.js';

/** What a hashing target saw on one connection. */
export interface Seen {
  bytes: number;
  sha256: string;
}

/** Whatever closes servers at the end (a Scope, a test's Resources). */
export interface ServerTracker {
  server(server: Server): Server;
}

/** Reads every connection to its end and answers with what it saw; see the module comment. */
export class HashingTarget {
  readonly server: Server;
  readonly sockets: Socket[] = [];
  /** In the order the connections ended. */
  readonly seen: Seen[] = [];
  /** When each of `seen` ended (performance.now()). */
  readonly endedAt: number[] = [];
  private stallNext = 0;
  private readonly stalled: Socket[] = [];

  constructor(tracker: ServerTracker) {
    this.server = tracker.server(
      createServer({ allowHalfOpen: true }, (socket) => {
        this.sockets.push(socket);
        const hash = createHash('sha256');
        let bytes = 0;
        socket.on('data', (d: Buffer) => {
          hash.update(d);
          bytes += d.length;
        });
        socket.once('end', () => {
          const seen = { bytes, sha256: hash.digest('hex') };
          this.seen.push(seen);
          this.endedAt.push(performance.now());
          socket.end(`${seen.bytes} ${seen.sha256}\n`);
        });
        if (this.stallNext > 0) {
          this.stallNext--;
          socket.pause();
          this.stalled.push(socket);
        }
      }),
    );
  }

  /** Listens on 127.0.0.1:0; resolves with the port. */
  listen(): Promise<number> {
    return listen(this.server);
  }

  /** The next `n` connections are not read until release(). */
  stall(n = 1): void {
    this.stallNext += n;
  }

  /** Stalled connections so far. */
  get stalledCount(): number {
    return this.stalled.length;
  }

  /** Starts reading the stalled connections. */
  release(): void {
    for (const s of this.stalled.splice(0)) s.resume();
  }
}

/** Parses a HashingTarget reply. */
export function parseSeen(reply: Buffer): Seen {
  const [bytes, sha256] = reply.toString('utf8').trim().split(' ');
  return { bytes: Number(bytes), sha256: sha256 ?? '' };
}
