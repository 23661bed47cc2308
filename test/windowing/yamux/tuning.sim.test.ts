/**
 * Window auto-tuning with simulated time: one stream over a link with a 25 ms one-way delay
 * (50 ms round trip), a producer that always has data, and a consumer draining at a fixed rate.
 * Time advances 1 ms per step; nothing waits for real.
 */
import { expect } from 'chai';
import { Session, type SessionEvent } from '../../../windowing/index.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const ONE_WAY_MS = 25;
const RTT_MS = 2 * ONE_WAY_MS;

interface Sample {
  nowMs: number;
  windowBytes: number;
  bufferedBytes: number;
  /** What the peer may still send plus what arrived and was not consumed: what the stream may hold. */
  heldBytes: number;
  consumedBytes: number;
}

interface SimOptions {
  /** Bytes the consumer takes per ms, or a function of the time for one that changes pace. */
  consumeBytesPerMs: number | ((nowMs: number) => number);
  durationMs: number;
  autoTune?: boolean;
  maxWindowBytes?: number;
  /** Called every step; lets a test flip memory pressure at a given time. */
  onStep?: (nowMs: number, receiver: Session) => void;
}

function simulate({ consumeBytesPerMs, durationMs, autoTune = true, maxWindowBytes, onStep }: SimOptions): { samples: Sample[]; receiver: Session; maxBufferedOverWindow: number } {
  const sender = new Session({ role: 'dialer', autoTune });
  const receiver = new Session({ role: 'acceptor', autoTune, ...(maxWindowBytes !== undefined ? { maxWindowBytes } : {}) });
  const inFlight: { atMs: number; to: Session; bytes: Buffer }[] = [];
  const source = Buffer.alloc(1 * MiB, 1);
  let blocked = false;
  let unconsumed = 0;
  let consumedTotal = 0;
  let maxBufferedOverWindow = -Infinity;
  const samples: Sample[] = [];

  const opened = sender.open();
  if (!opened.ok) throw new Error('open refused');
  const id = opened.streamId;

  const handleAtSender = (events: SessionEvent[]) => {
    for (const e of events) if (e.type === 'writable') blocked = false;
  };
  const handleAtReceiver = (events: SessionEvent[]) => {
    for (const e of events) {
      if (e.type === 'streamOpened') receiver.accept(e.streamId);
      if (e.type === 'data') unconsumed += e.bytes.length;
      if (e.type === 'error') throw e.error;
    }
  };
  const ship = (from: Session, to: Session, nowMs: number) => {
    const batch = from.takeOutbound();
    if (batch.buffers.length > 0) inFlight.push({ atMs: nowMs + ONE_WAY_MS, to, bytes: Buffer.concat(batch.buffers) });
    from.flushed(batch);
  };

  for (let nowMs = 0; nowMs <= durationMs; nowMs++) {
    while (inFlight.length > 0 && inFlight[0].atMs <= nowMs) {
      const { to, bytes } = inFlight.shift()!;
      const events = to.receive(bytes, nowMs);
      if (to === sender) handleAtSender(events);
      else handleAtReceiver(events);
    }
    onStep?.(nowMs, receiver);
    if (nowMs % 100 === 0) receiver.ping(nowMs);
    const n = Math.min(unconsumed, typeof consumeBytesPerMs === 'number' ? consumeBytesPerMs : consumeBytesPerMs(nowMs));
    if (n > 0) {
      unconsumed -= n;
      consumedTotal += n;
      receiver.consumed(id, n, nowMs);
    }
    while (!blocked) {
      const result = sender.send(id, source);
      if (!result.canSendMore || result.sentBytes < source.length) blocked = true;
    }
    ship(sender, receiver, nowMs);
    ship(receiver, sender, nowMs);
    const info = receiver.streamInfo(id);
    if (info !== undefined) {
      maxBufferedOverWindow = Math.max(maxBufferedOverWindow, info.recvBufferedBytes - info.recvWindowBytes);
      samples.push({
        nowMs,
        windowBytes: info.recvWindowBytes,
        bufferedBytes: info.recvBufferedBytes,
        heldBytes: info.recvBufferedBytes + info.recvCreditBytes,
        consumedBytes: consumedTotal,
      });
    }
  }
  return { samples, receiver, maxBufferedOverWindow };
}

function at(samples: Sample[], nowMs: number): Sample {
  return samples.find((s) => s.nowMs === nowMs) as Sample;
}

function rateBetween(samples: Sample[], fromMs: number, toMs: number): number {
  return (at(samples, toMs).consumedBytes - at(samples, fromMs).consumedBytes) / (toMs - fromMs);
}

describe('window auto-tuning (simulated 50 ms round trip)', () => {
  it('a consumer draining 80 KiB/ms (bandwidth-delay product ~3.9 MiB) gets a big enough window within 10 round trips and runs at its rate', () => {
    const rate = 80 * KiB;
    const { samples, maxBufferedOverWindow } = simulate({ consumeBytesPerMs: rate, durationMs: 1500 });
    const bdp = rate * RTT_MS;
    const reached = samples.find((s) => s.windowBytes >= bdp);
    expect(reached, 'window reached the bandwidth-delay product').to.not.equal(undefined);
    expect(reached!.nowMs).to.be.at.most(10 * RTT_MS);
    expect(at(samples, 1500).windowBytes).to.be.at.most(16 * MiB);
    expect(rateBetween(samples, 1000, 1500)).to.be.at.least(0.95 * rate);
    expect(maxBufferedOverWindow).to.be.at.most(0);
  });

  it('without tuning the same consumer is capped at about window / RTT (5 KiB/ms), a sixteenth of its rate', () => {
    const { samples } = simulate({ consumeBytesPerMs: 80 * KiB, durationMs: 1500, autoTune: false });
    const rate = rateBetween(samples, 1000, 1500);
    expect(rate).to.be.at.most((256 * KiB) / RTT_MS);
    expect(rate).to.be.at.least((0.5 * 256 * KiB) / RTT_MS);
  });

  it('a slow consumer (1 KiB/ms) keeps the initial 256 KiB window', () => {
    const { samples, receiver } = simulate({ consumeBytesPerMs: 1 * KiB, durationMs: 3000 });
    expect(Math.max(...samples.map((s) => s.windowBytes))).to.equal(256 * KiB);
    expect(receiver.stats.windowsGrown).to.equal(0);
    expect(rateBetween(samples, 1000, 3000)).to.equal(1 * KiB);
  });

  it('a moderate consumer (4 KiB/ms, BDP 200 KiB) stops growing at 1 MiB, well short of the maximum', () => {
    const { samples } = simulate({ consumeBytesPerMs: 4 * KiB, durationMs: 3000 });
    expect(at(samples, 3000).windowBytes).to.equal(1 * MiB);
    expect(rateBetween(samples, 1000, 3000)).to.equal(4 * KiB);
  });

  it('a fast consumer (80 KiB/ms) that slows to 1 KiB/ms (BDP 50 KiB) gets a 512 KiB window back; what the stream may hold falls to it', () => {
    const { samples, receiver } = simulate({ consumeBytesPerMs: (nowMs) => (nowMs < 1000 ? 80 * KiB : 1 * KiB), durationMs: 10_000, maxWindowBytes: 4 * MiB });
    const grown = at(samples, 999).windowBytes;
    expect(grown).to.equal(4 * MiB);
    expect(receiver.stats.windowsShrunk).to.be.at.least(1);
    // No more than the grown window is ever held, and once the credit granted while fast has
    // been consumed, no more than the shrunk window: 1 KiB/ms needs under 16 BDP (800 KiB).
    expect(Math.max(...samples.map((s) => s.heldBytes))).to.be.at.most(grown);
    // The first slow epoch grants as before (it may be this process, not the consumer); the second shrinks.
    const settled = samples.filter((s) => s.nowMs >= 9000);
    expect(Math.max(...settled.map((s) => s.windowBytes))).to.equal(512 * KiB);
    expect(Math.max(...settled.map((s) => s.heldBytes))).to.be.at.most(512 * KiB);
    expect(rateBetween(samples, 9000, 10_000)).to.equal(1 * KiB);
  });

  it('a consumer that stops once for 5 s after a fast start keeps its window and drains at its old pace once back', () => {
    const { samples, receiver } = simulate({ consumeBytesPerMs: (nowMs) => (nowMs >= 1000 && nowMs < 6000 ? 0 : 80 * KiB), durationMs: 9000 });
    expect(receiver.stats.windowsShrunk).to.equal(0);
    expect(at(samples, 9000).windowBytes).to.be.at.least(4 * MiB);
    expect(rateBetween(samples, 8000, 9000)).to.be.at.least(0.95 * 80 * KiB);
  });

  it('memory pressure shrinks a grown window back to 256 KiB; relief lets it grow again', () => {
    const { samples } = simulate({
      consumeBytesPerMs: 80 * KiB,
      durationMs: 3000,
      onStep: (nowMs, receiver) => {
        if (nowMs === 1000) receiver.setMemoryPressure(true);
        if (nowMs === 2000) receiver.setMemoryPressure(false);
      },
    });
    expect(at(samples, 999).windowBytes).to.be.at.least(4 * MiB);
    expect(at(samples, 1000).windowBytes).to.equal(256 * KiB);
    expect(Math.max(...samples.filter((s) => s.nowMs >= 1000 && s.nowMs < 2000).map((s) => s.windowBytes))).to.equal(256 * KiB);
    expect(at(samples, 3000).windowBytes).to.be.at.least(4 * MiB);
    const maxWindowBefore = Math.max(...samples.filter((s) => s.nowMs < 1000).map((s) => s.windowBytes));
    expect(Math.max(...samples.map((s) => s.bufferedBytes)), 'buffered never beyond the largest window granted').to.be.at.most(maxWindowBefore);
    const settled = samples.filter((s) => s.nowMs >= 1500 && s.nowMs < 2000);
    expect(Math.max(...settled.map((s) => s.bufferedBytes)), 'credit already granted drains, then buffering stays within 256 KiB').to.be.at.most(256 * KiB);
  });
});
