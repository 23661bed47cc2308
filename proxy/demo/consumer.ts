import { createServer, type Server } from 'node:net';
import { decodeMessage } from './messages.js';

/** What the slow consumer has seen so far. */
export interface ConsumerStats {
  delivered: number;
  /** Latency of every delivered message, ms. */
  latenciesMs: number[];
  /** Highest sequence number seen, and whether any arrived out of order. */
  lastSeq: number;
  outOfOrder: number;
}

/**
 * The slow "database writer": takes at most `messagesPerS` messages per second, reading only
 * as fast as it works through them (it pauses its socket when ahead), so anything faster
 * upstream has to wait, be dropped, or be stored somewhere.
 */
export class SlowConsumer {
  readonly stats: ConsumerStats = { delivered: 0, latenciesMs: [], lastSeq: -1, outOfOrder: 0 };
  private readonly server: Server;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly sockets = new Set<import('node:net').Socket>();

  constructor(private readonly messagesPerS: number) {
    this.server = createServer((socket) => {
      socket.setEncoding('latin1');
      socket.on('error', () => {});
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      const startedMs = performance.now();
      let taken = 0;
      let partial = '';
      socket.on('data', (text: string) => {
        const lines = (partial + text).split('\n');
        partial = lines.pop() ?? '';
        const now = performance.now();
        for (const line of lines) {
          const m = decodeMessage(line);
          this.stats.delivered++;
          this.stats.latenciesMs.push(now - m.createdAtMs);
          if (m.seq < this.stats.lastSeq) this.stats.outOfOrder++;
          this.stats.lastSeq = Math.max(this.stats.lastSeq, m.seq);
        }
        taken += lines.length;
        const aheadMs = (taken / this.messagesPerS) * 1000 - (performance.now() - startedMs);
        if (aheadMs > 1) {
          socket.pause();
          const timer = setTimeout(() => {
            this.timers.delete(timer);
            socket.resume();
          }, aheadMs);
          this.timers.add(timer);
        }
      });
    });
  }

  /** Listens on a unix socket path. */
  listen(path: string): Promise<void> {
    return new Promise((resolve) => this.server.listen(path, () => resolve()));
  }

  close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
