import { expect } from 'chai';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { DirectionWindow } from '../../../windowing/index.js';
import { CreditPump, TunnelSession, type TunnelStream } from '../../../proxy/index.js';
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

  /** Completes held writes until `bytes` are flushed. */
  flush(bytes: number): void {
    while (bytes > 0 && this.held.length > 0) {
      const w = this.held.shift()!;
      bytes -= w.size;
      w.done();
    }
  }
}

const tick = () => new Promise((r) => setImmediate(r));
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await tick();
}

describe('CreditPump', () => {
  let dialer: TunnelSession;
  let acceptor: TunnelSession;
  afterEach(() => {
    dialer?.destroy();
    acceptor?.destroy();
  });

  async function setup(): Promise<{ writer: TunnelStream; sink: HeldSink; pump: CreditPump }> {
    const [a, b] = duplexPair();
    dialer = new TunnelSession(a, { role: 'dialer', autoTune: false, keepaliveIntervalMs: 0 });
    acceptor = new TunnelSession(b, { role: 'acceptor', autoTune: false, credit: 'manual', keepaliveIntervalMs: 0 });
    const arrived = once(acceptor, 'stream');
    const writer = dialer.open();
    writer.write('x');
    const [stream] = (await arrived) as [TunnelStream];
    const sink = new HeldSink();
    const pump = new CreditPump(stream, sink, new DirectionWindow({ windowBytes: 64 * KiB }), () => performance.now());
    pump.start();
    return { writer, sink, pump };
  }

  it('grants the peer credit only for bytes the sink flushed, not for bytes taken from the stream', async () => {
    const { writer, sink, pump } = await setup();
    for (let i = 0; i < 4; i++) writer.write(Buffer.alloc(64 * KiB - (i === 3 ? 1 : 0), i));
    await settle();
    expect(sink.received).to.equal(256 * KiB);
    expect(pump.bytesRead).to.equal(256 * KiB);
    expect(pump.queuedBytes).to.equal(256 * KiB);
    expect(acceptor.stats().windowUpdatesSent).to.equal(0);
    expect(dialer.framing.streamInfo(writer.streamId)!.sendCreditBytes).to.equal(0);
    // One write callback at a time: no credit goes back until half the window was flushed.
    while (pump.deliveredBytes < 128 * KiB) {
      expect(acceptor.stats().windowUpdatesSent, `${pump.deliveredBytes} bytes flushed`).to.equal(0);
      sink.flushOne();
      await settle();
    }
    expect(acceptor.stats().windowUpdatesSent).to.equal(1);
    expect(pump.deliveredBytes).to.be.at.least(128 * KiB);
    expect(dialer.framing.streamInfo(writer.streamId)!.sendCreditBytes).to.be.at.least(128 * KiB);
  });

  it('counts the time the sink held the stream back, and passes the end on after every write', async () => {
    const { writer, sink, pump } = await setup();
    writer.end(Buffer.alloc(100 * KiB));
    await settle();
    expect(pump.window.pauses).to.equal(1);
    expect(pump.ended).to.equal(true);
    sink.flush(Infinity);
    await settle();
    expect(sink.ended).to.equal(true);
    expect(pump.window.isPaused).to.equal(false);
  });
});
