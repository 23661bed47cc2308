import { Duplex } from 'node:stream';

/**
 * A link whose writes can be held, like a socket whose send buffer is full because the peer is
 * slow to read: a held write keeps pointing into the writer's buffer (nothing is copied) and its
 * callback waits; deliver() then takes the bytes as they are at that moment, as the kernel would,
 * and calls back. The test plays the peer: peerSends() pushes bytes for the session to read.
 */
export class HeldLink extends Duplex {
  /** While true, writes wait for deliver(). */
  holding = true;
  private held: { chunk: Buffer; done: (err?: Error | null) => void }[] = [];
  private readonly sent: Buffer[] = [];

  constructor() {
    super({ allowHalfOpen: true });
  }

  /** Takes every held write as its bytes are now and calls each back, in order (writes queued behind them too). */
  deliver(): void {
    while (this.held.length > 0) {
      const { chunk, done } = this.held.shift()!;
      this.sent.push(Buffer.from(chunk));
      done(); // the writable may pass its next buffered write to _write right away
    }
  }

  /** Everything delivered so far, in order. */
  wire(): Buffer {
    return Buffer.concat(this.sent);
  }

  /** Bytes from the peer, for the session to read. */
  peerSends(bytes: Buffer): void {
    this.push(bytes);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    this.held.push({ chunk, done });
    if (!this.holding) this.deliver();
  }

  override _read(): void {}

  override _final(done: () => void): void {
    this.deliver();
    done();
  }
}
