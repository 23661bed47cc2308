import { expect } from 'chai';
import sinon from 'sinon';
import { LatencyStage, WindowStage } from '../../../../proxy/stages/toxics/index.js';
import { randomBytes, randomChunks, sha256 } from '../../../../scenarios/harness/random.js';
import { feed } from '../../../helpers/pipeline.js';
import { advance, TOXIC_FAKES, toxicDirection } from '../../../helpers/toxics.js';

describe('toxic window (WindowStage)', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => (clock = sinon.useFakeTimers(TOXIC_FAKES)));
  afterEach(() => clock.restore());

  it('holds the source (reason window) once `bytes` wait for the sink, and reads again at half', async () => {
    const { sink, deliver, direction, source } = toxicDirection(clock, [new WindowStage(1000)], { windowBytes: 64 * 1024 });
    sink.held = true;
    deliver(600);
    expect(direction.isHeld).to.equal(false);
    deliver(600);
    expect([direction.valve.ledger.reasons(), source.isPaused()]).to.deep.equal([['window'], true]);
    sink.flush();
    await advance(clock, 0);
    expect([direction.isHeld, source.isPaused()]).to.deep.equal([false, false]);
    direction.stop();
  });

  it('counts what waits after it (a later stage\'s queue too), not what came before', async () => {
    const later = new LatencyStage({ latencyMs: 100, jitterMs: 0 });
    const { deliver, direction } = toxicDirection(clock, [new WindowStage(1000), later]);
    deliver(999);
    expect(direction.isHeld).to.equal(false);
    deliver(1);
    expect(direction.valve.ledger.reasons()).to.deep.equal(['window']);
    await advance(clock, 100); // the latency stage hands it on and the sink takes it
    expect(direction.isHeld).to.equal(false);
    direction.stop();
  });

  it('a slow sink behind a small window: every byte arrives in order, and the source is held many times', async () => {
    const data = randomBytes(200_000, 2);
    const { sink, direction, source } = toxicDirection(clock, [new WindowStage(4096)]);
    sink.held = true;
    void feed(source, randomChunks(data, 3000, 2));
    for (let step = 0; !sink.ended; step++) {
      if (step > 2000) throw new Error(`stuck at ${sink.received} bytes`);
      await advance(clock, 1);
      expect(direction.heldBytes).to.be.at.most(4096 + 3000);
      sink.flush();
      sink.held = true;
    }
    expect([sink.received, sha256(sink.bytes())]).to.deep.equal([data.length, sha256(data)]);
    expect(direction.valve.ledger.pauses).to.be.greaterThan(10);
  });

  it('removed while holding: reads again at once', async () => {
    const stage = new WindowStage(100);
    const { sink, deliver, direction } = toxicDirection(clock, [stage]);
    sink.held = true;
    deliver(200);
    expect(direction.isHeld).to.equal(true);
    direction.removeStage(stage);
    expect(direction.isHeld).to.equal(false);
    direction.stop();
  });
});
