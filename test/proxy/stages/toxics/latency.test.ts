import { expect } from 'chai';
import sinon from 'sinon';
import { LatencyStage } from '../../../../proxy/stages/toxics/index.js';
import { MemoryBudget } from '../../../../windowing/index.js';
import { randomBytes, seededRandom } from '../../../../scenarios/harness/random.js';
import { advance, scripted, TOXIC_FAKES, toxicDirection } from '../../../helpers/toxics.js';

describe('toxic latency (LatencyStage)', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => (clock = sinon.useFakeTimers(TOXIC_FAKES)));
  afterEach(() => clock.restore());

  it('a piece arrives exactly `latency` ms after it came, not 1 ms before', async () => {
    const { sink, deliver, direction } = toxicDirection(clock, [new LatencyStage({ latencyMs: 100, jitterMs: 0 })]);
    await advance(clock, 7);
    deliver(Buffer.from('ping'));
    await advance(clock, 99);
    expect(sink.received).to.equal(0);
    await advance(clock, 1);
    expect(sink.arrivals).to.deep.equal([{ atMs: 107, bytes: 4 }]);
    direction.stop();
  });

  it('jitter: latency + a whole number of ms in [-jitter, jitter) from the injected random, as toxiproxy draws it', async () => {
    // 0 -> -jitter; 0.5 -> 0; 0.9999 -> jitter - 1.
    const stage = new LatencyStage({ latencyMs: 100, jitterMs: 10, random: scripted(0, 0.5, 0.9999) });
    const { sink, deliver, direction } = toxicDirection(clock, [stage]);
    const sentAt: number[] = [];
    for (let i = 0; i < 3; i++) {
      sentAt.push(clock.now);
      deliver(1);
      await advance(clock, 200); // each one out before the next comes, so none waits behind another
    }
    expect(sink.arrivals.map((a, i) => a.atMs - sentAt[i]!)).to.deep.equal([90, 100, 109]);
    direction.stop();
  });

  it('jitter over many pieces stays within ±jitter of latency (seeded random)', async () => {
    const stage = new LatencyStage({ latencyMs: 50, jitterMs: 20, random: seededRandom(15) });
    const { sink, deliver, direction } = toxicDirection(clock, [stage]);
    const delays: number[] = [];
    for (let i = 0; i < 200; i++) {
      const at = clock.now;
      deliver(1);
      await advance(clock, 100);
      delays.push(sink.arrivals[i]!.atMs - at);
    }
    expect(Math.min(...delays)).to.equal(30);
    expect(Math.max(...delays)).to.equal(69);
    direction.stop();
  });

  it('keeps order: a piece drawn a shorter delay waits behind the one before it', async () => {
    const stage = new LatencyStage({ latencyMs: 100, jitterMs: 50, random: scripted(0.9999, 0) });
    const { sink, deliver, direction } = toxicDirection(clock, [stage]);
    deliver(Buffer.from('first'));
    await advance(clock, 1);
    deliver(Buffer.from('second')); // due at 1 + 50, but 'first' is due at 149
    await advance(clock, 200);
    expect(sink.bytes().toString()).to.equal('firstsecond');
    expect(sink.arrivals.map((a) => a.atMs)).to.deep.equal([149, 149]);
    direction.stop();
  });

  it('several latency toxics add up', async () => {
    const { sink, deliver, direction } = toxicDirection(clock, [new LatencyStage({ latencyMs: 50, jitterMs: 0 }), new LatencyStage({ latencyMs: 30, jitterMs: 0 })]);
    deliver(10);
    await advance(clock, 79);
    expect(sink.received).to.equal(0);
    await advance(clock, 1);
    expect(sink.arrivals).to.deep.equal([{ atMs: 80, bytes: 10 }]);
    direction.stop();
  });

  it('every byte arrives, in order, each piece at its due time', async () => {
    const data = randomBytes(50_000, 3);
    const { sink, deliver, direction } = toxicDirection(clock, [new LatencyStage({ latencyMs: 20, jitterMs: 0 })]);
    const sentAt: number[] = [];
    for (let off = 0; off < data.length; off += 997) {
      sentAt.push(clock.now);
      deliver(data.subarray(off, off + 997));
      await advance(clock, 3);
    }
    await advance(clock, 20);
    expect(sink.bytes().equals(data)).to.equal(true);
    expect(sink.arrivals.map((a, i) => a.atMs - sentAt[i]!).every((d) => d === 20)).to.equal(true);
    direction.stop();
  });

  it('the end waits behind the pieces', async () => {
    const { sink, deliver, direction } = toxicDirection(clock, [new LatencyStage({ latencyMs: 100, jitterMs: 0 })]);
    deliver(5);
    direction.end();
    await advance(clock, 99);
    expect([sink.received, sink.ended]).to.deep.equal([0, false]);
    await advance(clock, 1);
    expect([sink.received, sink.endedAtMs]).to.deep.equal([5, 100]);
  });

  it('an end with nothing queued goes on at once', async () => {
    const { sink, direction } = toxicDirection(clock, [new LatencyStage({ latencyMs: 100, jitterMs: 0 })]);
    direction.end();
    await advance(clock, 0);
    expect(sink.endedAtMs).to.equal(0);
  });

  it('the budget holds the producer (reason toxic) once reached, and lets go at half', async () => {
    const stage = new LatencyStage({ latencyMs: 100, jitterMs: 0, budgetBytes: 1000 });
    const { deliver, direction, source } = toxicDirection(clock, [stage]);
    deliver(400);
    await advance(clock, 10);
    deliver(400);
    await advance(clock, 10);
    expect(direction.isHeld).to.equal(false);
    deliver(400); // 1200 in flight >= 1000
    expect([direction.isHeld, direction.valve.ledger.reasons(), source.isPaused()]).to.deep.equal([true, ['toxic'], true]);
    await advance(clock, 80); // t=100: the first 400 go, 800 left > 500
    expect([stage.heldBytes, direction.isHeld]).to.deep.equal([800, true]);
    await advance(clock, 10); // t=110: 400 left <= 500
    expect([stage.heldBytes, direction.isHeld, source.isPaused()]).to.deep.equal([400, false, false]);
    direction.stop();
  });

  it('as the memory budget fills, its allowance shrinks with the windows: a full budget holds the producer past 16 KiB', async () => {
    const budget = new MemoryBudget({ budgetBytes: 1024 * 1024 });
    const roomy = toxicDirection(clock, [new LatencyStage({ latencyMs: 100, jitterMs: 0 })], { budget });
    roomy.deliver(20 * 1024);
    expect(roomy.direction.isHeld).to.equal(false); // 20 KiB of 8 MiB, budget 2% used
    roomy.direction.stop();
    budget.adjust(1024 * 1024); // other connections filled it
    const pressed = toxicDirection(clock, [new LatencyStage({ latencyMs: 100, jitterMs: 0 })], { budget });
    pressed.deliver(10 * 1024);
    expect(pressed.direction.isHeld).to.equal(false);
    pressed.deliver(10 * 1024); // 20 KiB >= the 16 KiB floor
    expect([pressed.direction.isHeld, pressed.direction.valve.ledger.reasons()]).to.deep.equal([true, ['toxic']]);
    budget.release(1024 * 1024);
    await advance(clock, 100);
    expect(pressed.sink.received).to.equal(20 * 1024);
    expect(pressed.direction.isHeld).to.equal(false);
    pressed.direction.stop();
  });

  it('removed: hands on everything it holds and the end at once, in order, and lets go of the producer', async () => {
    const stage = new LatencyStage({ latencyMs: 1000, jitterMs: 0, budgetBytes: 10 });
    const { sink, deliver, direction } = toxicDirection(clock, [stage]);
    deliver(Buffer.from('abc'));
    deliver(Buffer.from('defghijklmn'));
    direction.end();
    expect(direction.isHeld).to.equal(true);
    await advance(clock, 5);
    direction.removeStage(stage);
    await advance(clock, 0);
    expect([sink.bytes().toString(), sink.endedAtMs, direction.isHeld, clock.countTimers()]).to.deep.equal(['abcdefghijklmn', 5, false, 0]);
  });

  it('updated: pieces in flight are due at their arrival + the new latency, the end waits behind them', async () => {
    const stage = new LatencyStage({ latencyMs: 1000, jitterMs: 0 });
    const { sink, deliver, direction } = toxicDirection(clock, [stage]);
    deliver(Buffer.from('a'));
    await advance(clock, 100);
    deliver(Buffer.from('b'));
    direction.end();
    await advance(clock, 100);
    direction.replaceStage(stage, new LatencyStage({ latencyMs: 150, jitterMs: 0 }));
    await advance(clock, 0); // 'a' (due at 150) is late already: it goes at once
    expect(sink.arrivals).to.deep.equal([{ atMs: 200, bytes: 1 }]);
    await advance(clock, 50);
    expect([sink.arrivals[1], sink.endedAtMs]).to.deep.equal([{ atMs: 250, bytes: 1 }, 250]);
  });

  it('stopped (the connection closed): no timer left behind', async () => {
    const { deliver, direction } = toxicDirection(clock, [new LatencyStage({ latencyMs: 1000, jitterMs: 0 })]);
    deliver(5);
    expect(clock.countTimers()).to.equal(1);
    direction.stop();
    expect(clock.countTimers()).to.equal(0);
  });
});
