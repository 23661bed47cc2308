import { expect } from 'chai';
import { Duplex } from 'node:stream';
import { TunnelSession, type TunnelStream } from '../../../proxy/index.js';
import { randomBytes } from '../../../scenarios/harness/random.js';

const KiB = 1024;

/**
 * One end of a link whose writes the test completes by hand, like a socket whose kernel buffer is
 * full: a write's bytes are read (copied) only when it is released, so a writer that reuses a buffer
 * before its write completed sends the new contents, exactly as with a real pending writev.
 */
class HeldEnd extends Duplex {
  peer!: HeldEnd;
  private held: { chunks: Buffer[]; callback: (err?: Error | null) => void }[] = [];

  constructor() {
    super({ allowHalfOpen: true });
  }

  get pendingWrites(): number {
    return this.held.length;
  }

  /** Completes every write held so far: the peer receives the bytes as they are now. */
  release(): void {
    const held = this.held;
    this.held = [];
    for (const { chunks, callback } of held) {
      this.peer.push(Buffer.concat(chunks));
      callback();
    }
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.held.push({ chunks: [chunk], callback });
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (err?: Error | null) => void): void {
    this.held.push({ chunks: chunks.map((c) => c.chunk), callback });
  }

  override _read(): void {}

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.peer.destroyed) this.peer.destroy();
    callback(error);
  }
}

const turns = async (n = 20) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

describe('TunnelSession: a write is called back only once its frames left (no early buffer reuse)', () => {
  it('credit returning while the frames of the last write are still in a pending link write does not call that write back early', async () => {
    const a = new HeldEnd();
    const b = new HeldEnd();
    a.peer = b;
    b.peer = a;
    const dialer = new TunnelSession(a, { role: 'dialer', keepaliveIntervalMs: 0 });
    const acceptor = new TunnelSession(b, { role: 'acceptor', keepaliveIntervalMs: 0 });
    const received: Buffer[] = [];
    acceptor.on('stream', (s: TunnelStream) => s.on('data', (d: Buffer) => received.push(Buffer.from(d))));
    const settle = async () => {
      for (let i = 0; i < 5; i++) {
        a.release();
        b.release();
        await turns();
      }
    };
    try {
      await settle(); // pings answered
      const stream = dialer.open();
      const first = randomBytes(128 * KiB, 1);
      const second = randomBytes(128 * KiB, 2); // with the first, exactly the initial 256 KiB window
      const secondCopy = Buffer.from(second);
      let secondCalledBack = false;
      stream.write(first);
      stream.write(second, () => {
        secondCalledBack = true;
        // What a pump does once called back: the buffer goes back to the pool and the next read lands in it.
        second.fill(0xee);
      });
      // The first write goes out; the second is framed (the window is now spent) and sits in a link
      // write that does not complete (a full socket buffer).
      await turns();
      a.release();
      await turns();
      expect(a.pendingWrites, 'the second write is in a pending link write').to.be.greaterThan(0);
      expect(secondCalledBack).to.equal(false);
      // The peer consumed the first half and grants credit: the dialer hears of it while the second
      // write's frames are still waiting in the link.
      b.release();
      await turns();
      expect(secondCalledBack, 'called back while its frames were still in a pending link write').to.equal(false);
      a.release();
      await turns();
      expect(secondCalledBack).to.equal(true);
      await settle();
      expect(Buffer.concat(received).equals(Buffer.concat([first, secondCopy])), 'the peer received what was written').to.equal(true);
    } finally {
      dialer.destroy();
      acceptor.destroy();
    }
  });

  it('a stream destroyed while its write is framed but not yet sent calls that write back only once the link sent it', async () => {
    const a = new HeldEnd();
    const b = new HeldEnd();
    a.peer = b;
    b.peer = a;
    const dialer = new TunnelSession(a, { role: 'dialer', keepaliveIntervalMs: 0 });
    const acceptor = new TunnelSession(b, { role: 'acceptor', keepaliveIntervalMs: 0 });
    acceptor.on('stream', (s: TunnelStream) => s.on('error', () => {}).resume());
    try {
      for (let i = 0; i < 5; i++) {
        a.release();
        b.release();
        await turns();
      }
      const stream = dialer.open();
      stream.on('error', () => {});
      let calledBack = false;
      stream.write(randomBytes(300 * KiB, 3), () => (calledBack = true)); // 256 KiB framed, the rest waits for credit
      await turns();
      expect(a.pendingWrites, 'the framed part is in a pending link write').to.be.greaterThan(0);
      stream.destroy();
      await turns();
      expect(calledBack, 'called back while its frames were still in a pending link write').to.equal(false);
      a.release(); // the frames, then the reset behind them
      await turns();
      a.release();
      await turns();
      expect(calledBack).to.equal(true);
    } finally {
      dialer.destroy();
      acceptor.destroy();
    }
  });
});
