import { expect } from 'chai';
import sinon from 'sinon';
import { BandwidthStage } from '../../../../proxy/stages/toxics/index.js';
import { randomBytes, randomChunks, sha256 } from '../../../../scenarios/harness/random.js';
import { feed } from '../../../helpers/pipeline.js';
import { advance, TOXIC_FAKES, toxicDirection } from '../../../helpers/toxics.js';

describe('toxic bandwidth (BandwidthStage)', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => (clock = sinon.useFakeTimers(TOXIC_FAKES)));
  afterEach(() => clock.restore());

  it('at 10 KB/s, 5000 bytes take 500 ms, in 100 ms pieces (1 KB = 1000 bytes)', async () => {
    const { sink, deliver, direction } = toxicDirection(clock, [new BandwidthStage({ rateKBps: 10 })]);
    deliver(5000);
    await advance(clock, 99);
    expect(sink.received).to.equal(0);
    await advance(clock, 500);
    expect(sink.arrivals).to.deep.equal([100, 200, 300, 400, 500].map((atMs) => ({ atMs, bytes: 1000 })));
    direction.stop();
  });

  for (const [rateKBps, bytes] of [[1, 250], [3, 1000], [7, 12_345], [1000, 64 * 1024], [64, 1]] as const) {
    it(`at ${rateKBps} KB/s, ${bytes} bytes have all arrived at ${bytes}/${rateKBps} ms, not 1 ms before`, async () => {
      const { sink, deliver, direction } = toxicDirection(clock, [new BandwidthStage({ rateKBps })]);
      deliver(bytes);
      const dueMs = Math.ceil(bytes / rateKBps);
      await advance(clock, dueMs - 1);
      expect(sink.received).to.be.below(bytes);
      await advance(clock, 1);
      expect(sink.received).to.equal(bytes);
      // No piece is more than 100 ms worth.
      expect(Math.max(...sink.arrivals.map((a) => a.bytes))).to.be.at.most(rateKBps * 100);
      direction.stop();
    });
  }

  it('back-to-back chunks queue behind each other on the link', async () => {
    const { sink, deliver, direction } = toxicDirection(clock, [new BandwidthStage({ rateKBps: 10 })]);
    deliver(1000);
    deliver(1000);
    await advance(clock, 300);
    expect(sink.arrivals).to.deep.equal([
      { atMs: 100, bytes: 1000 },
      { atMs: 200, bytes: 1000 },
    ]);
    direction.stop();
  });

  it('an idle link banks no time: a chunk after a quiet spell takes its full time', async () => {
    const { sink, deliver, direction } = toxicDirection(clock, [new BandwidthStage({ rateKBps: 10 })]);
    deliver(1000);
    await advance(clock, 1000);
    deliver(1000);
    await advance(clock, 99);
    expect(sink.received).to.equal(1000);
    await advance(clock, 1);
    expect(sink.arrivals.map((a) => a.atMs)).to.deep.equal([100, 1100]);
    direction.stop();
  });

  it('a link free for less than 10 ms was not idle: the gap is made up (the producer resuming late), so the rate holds', async () => {
    const { sink, deliver, direction } = toxicDirection(clock, [new BandwidthStage({ rateKBps: 1000 })]);
    deliver(10_000); // due at 10 ms
    await advance(clock, 13);
    deliver(10_000); // 3 ms after the link went free: due at 20 ms, not 23
    await advance(clock, 6);
    expect(sink.received).to.equal(10_000);
    await advance(clock, 1);
    expect(sink.arrivals).to.deep.equal([
      { atMs: 10, bytes: 10_000 },
      { atMs: 20, bytes: 10_000 },
    ]);
    // 11 ms free is idle: the next chunk takes its full time from when it came.
    await advance(clock, 11);
    deliver(10_000);
    await advance(clock, 9);
    expect(sink.received).to.equal(20_000);
    await advance(clock, 1);
    expect(sink.arrivals.at(-1)).to.deep.equal({ atMs: 41, bytes: 10_000 });
    direction.stop();
  });

  it('holds the producer (reason toxic) once the window waits in it, and lets go at half', async () => {
    const stage = new BandwidthStage({ rateKBps: 10 });
    const { deliver, direction, source } = toxicDirection(clock, [stage], { windowBytes: 4000 });
    deliver(3000);
    expect(direction.isHeld).to.equal(false);
    deliver(1000);
    expect([stage.heldBytes, direction.valve.ledger.reasons(), source.isPaused()]).to.deep.equal([4000, ['toxic'], true]);
    await advance(clock, 100);
    expect([stage.heldBytes, direction.isHeld]).to.deep.equal([3000, true]);
    await advance(clock, 100);
    expect([stage.heldBytes, direction.isHeld, source.isPaused()]).to.deep.equal([2000, false, false]);
    direction.stop();
  });

  it('a producer pushing far more than the window: the direction never holds more than the window and a read', async () => {
    const data = randomBytes(400_000, 9);
    const stage = new BandwidthStage({ rateKBps: 100 });
    const { direction, source, sink } = toxicDirection(clock, [stage], { windowBytes: 32 * 1024 });
    void feed(source, randomChunks(data, 16 * 1024, 10));
    let most = 0;
    for (let step = 0; !sink.ended; step++) {
      if (step > 400) throw new Error(`stuck at ${sink.received} bytes`);
      await advance(clock, 25);
      most = Math.max(most, direction.heldBytes);
    }
    expect(most).to.be.at.most(32 * 1024 + 16 * 1024);
    expect([sink.received, sha256(sink.bytes())]).to.deep.equal([data.length, sha256(data)]);
    // 400 KB at 100 KB/s: 4 s on the fake clock.
    expect(sink.endedAtMs).to.be.at.least(4000);
  });

  it('removed: what it holds goes on at once, in order, with the end', async () => {
    const stage = new BandwidthStage({ rateKBps: 1 });
    const { sink, deliver, direction } = toxicDirection(clock, [stage]);
    const data = randomBytes(3000, 4);
    deliver(data);
    direction.end();
    await advance(clock, 100);
    expect(sink.received).to.equal(100);
    direction.removeStage(stage);
    await advance(clock, 0);
    expect([sink.bytes().equals(data), sink.endedAtMs, clock.countTimers()]).to.deep.equal([true, 100, 0]);
  });

  it('updated (replaced by a new BandwidthStage): what it holds goes on at the new rate, the producer stays held', async () => {
    const stage = new BandwidthStage({ rateKBps: 10 });
    const { sink, deliver, direction } = toxicDirection(clock, [stage], { windowBytes: 4000 });
    deliver(4000);
    await advance(clock, 100);
    expect([sink.received, direction.valve.ledger.reasons()]).to.deep.equal([1000, ['toxic']]);
    const faster = new BandwidthStage({ rateKBps: 20 });
    direction.replaceStage(stage, faster);
    expect([faster.heldBytes, direction.valve.ledger.reasons()]).to.deep.equal([3000, ['toxic']]);
    await advance(clock, 49);
    expect(sink.received).to.equal(1000);
    await advance(clock, 1); // 1000 bytes at 20 KB/s: 50 ms
    expect([sink.received, direction.isHeld]).to.deep.equal([2000, false]);
    await advance(clock, 100);
    expect(sink.received).to.equal(4000);
    direction.stop();
  });

  it('refuses a rate of 0 (no limit is no stage: toxicStage gives none)', () => {
    expect(() => new BandwidthStage({ rateKBps: 0 })).to.throw(RangeError);
  });
});
