import { expect } from 'chai';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { DirectionWindow } from '../../../windowing/index.js';
import { TunnelSession, type TunnelStream } from '../../../proxy/index.js';
import { Direction } from '../../../proxy/pipeline/index.js';
import { CreditReader } from '../../../proxy/tunnel/credit-reader.js';
import { duplexPair } from '../../helpers/duplex-pair.js';

const KiB = 1024;

/** A sink whose write callbacks wait until the test flushes them. */
class HeldSink extends Writable {
  held: { size: number; done: () => void }[] = [];
  received = 0;
  ended = false;
  constructor() {
    super({ highWaterMark: 1 });
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.received += chunk.length;
    this.held.push({ size: chunk.length, done });
  }
  override _writev(chunks: { chunk: Buffer }[], done: () => void): void {
    const size = chunks.reduce((n, c) => n + c.chunk.length, 0);
    this.received += size;
    this.held.push({ size, done });
  }
  override _final(done: () => void): void {
    this.ended = true;
    done();
  }
  /** Completes the oldest held write. */
  flushOne(): void {
    this.held.shift()?.done();
  }
  /** Completes every held write. */
  flushAll(): void {
    while (this.held.length > 0) this.held.shift()!.done();
  }
}

const tick = () => new Promise((r) => setImmediate(r));
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await tick();
}

describe('CreditReader', () => {
  let dialer: TunnelSession;
  let acceptor: TunnelSession;
  afterEach(() => {
    dialer?.destroy();
    acceptor?.destroy();
  });

  async function setup(): Promise<{ writer: TunnelStream; stream: TunnelStream; sink: HeldSink; direction: Direction }> {
    const [a, b] = duplexPair();
    dialer = new TunnelSession(a, { role: 'dialer', autoTune: false, keepaliveIntervalMs: 0 });
    acceptor = new TunnelSession(b, { role: 'acceptor', autoTune: false, credit: 'manual', keepaliveIntervalMs: 0 });
    const arrived = once(acceptor, 'stream');
    const writer = dialer.open();
    writer.write('x');
    const [stream] = (await arrived) as [TunnelStream];
    const sink = new HeldSink();
    const direction = new Direction({ reader: new CreditReader(stream), sink, window: new DirectionWindow({ windowBytes: 64 * KiB }), now: () => performance.now() });
    direction.start();
    return { writer, stream, sink, direction };
  }

  it('grants the peer credit only for bytes the sink flushed, not for bytes taken from the stream', async () => {
    const { writer, stream, sink, direction } = await setup();
    for (let i = 0; i < 4; i++) writer.write(Buffer.alloc(64 * KiB - (i === 3 ? 1 : 0), i));
    await settle();
    // The whole window came over; what the sink has not taken waits in the (held) stream.
    expect(direction.bytesRead + stream.readableLength).to.equal(256 * KiB);
    expect(sink.received).to.equal(direction.bytesRead);
    expect(acceptor.stats().windowUpdatesSent).to.equal(0);
    expect(dialer.framing.streamInfo(writer.streamId)!.sendCreditBytes).to.equal(0);
    // One write callback at a time: no credit goes back until half the window was flushed.
    while (direction.deliveredBytes < 128 * KiB) {
      expect(acceptor.stats().windowUpdatesSent, `${direction.deliveredBytes} bytes flushed`).to.equal(0);
      sink.flushOne();
      await settle();
    }
    expect(acceptor.stats().windowUpdatesSent).to.equal(1);
    expect(dialer.framing.streamInfo(writer.streamId)!.sendCreditBytes).to.be.at.least(128 * KiB);
  });

  it('is held while the sink is behind, and passes the end on after every write', async () => {
    const { writer, sink, direction } = await setup();
    writer.end(Buffer.alloc(100 * KiB));
    await settle();
    expect([direction.isHeld, direction.valve.ledger.reasons()]).to.deep.equal([true, ['window']]);
    while (!sink.ended) {
      sink.flushAll();
      await settle();
    }
    expect([direction.ended, direction.isHeld, direction.bytesRead]).to.deep.equal([true, false, 100 * KiB + 1]);
  });

  it('refuses a stream whose credit is granted on read (it would earn credit before the sink took anything)', async () => {
    const [a, b] = duplexPair();
    dialer = new TunnelSession(a, { role: 'dialer', keepaliveIntervalMs: 0 });
    acceptor = new TunnelSession(b, { role: 'acceptor', keepaliveIntervalMs: 0 });
    const stream = dialer.open();
    stream.on('error', () => {}); // the sessions are torn down right after
    expect(() => new CreditReader(stream)).to.throw(RangeError, /manual/);
  });
});
