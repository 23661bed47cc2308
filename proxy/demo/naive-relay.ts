import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * The cautionary row: a relay that ignores write()'s return value, so whatever the producer
 * sends piles up in memory in front of the slow consumer. A cap keeps the demo itself alive:
 * past it the connection is cut and the row says so.
 */
export class NaiveRelay {
  /** Set when the cap was hit. */
  cappedAtMs: number | null = null;
  private readonly server: Server;
  private readonly targets = new Set<Socket>();
  private readonly clients = new Set<Socket>();

  constructor(
    targetPath: string,
    private readonly capBytes: number,
  ) {
    this.server = createServer((client) => {
      this.clients.add(client);
      client.on('close', () => this.clients.delete(client));
      const target = connect(targetPath);
      this.targets.add(target);
      target.on('close', () => this.targets.delete(target));
      client.on('data', (d: Buffer) => {
        target.write(d); // the bug this row exists to show
        if (target.writableLength > this.capBytes && this.cappedAtMs === null) {
          this.cappedAtMs = performance.now();
          client.destroy();
          target.destroy();
        }
      });
      client.on('error', () => target.destroy());
      target.on('error', () => client.destroy());
    });
  }

  /** Bytes waiting in memory for the consumer. */
  bufferedBytes(): number {
    let total = 0;
    for (const t of this.targets) total += t.writableLength;
    return total;
  }

  listen(path: string): Promise<void> {
    return new Promise((resolve) => this.server.listen(path, () => resolve()));
  }

  close(): Promise<void> {
    for (const s of [...this.targets, ...this.clients]) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
