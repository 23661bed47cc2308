import { expect } from 'chai';
import sinon from 'sinon';
import { StallStage } from '../../../../proxy/stages/toxics/index.js';
import { advance, TOXIC_FAKES, toxicDirection } from '../../../helpers/toxics.js';

describe('toxic stall (StallStage)', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => (clock = sinon.useFakeTimers(TOXIC_FAKES)));
  afterEach(() => clock.restore());

  it('stops reading the source for exactly `duration` ms from when it is added, then reads again', async () => {
    const { direction, source, sink } = toxicDirection(clock, []);
    await advance(clock, 100);
    direction.addStage(new StallStage(400));
    source.write(Buffer.alloc(10));
    await advance(clock, 399);
    expect([direction.bytesRead, direction.valve.ledger.reasons(), source.isPaused()]).to.deep.equal([0, ['toxic'], true]);
    await advance(clock, 1);
    expect([direction.bytesRead, sink.received, direction.isHeld]).to.deep.equal([10, 10, false]);
    expect(direction.valve.ledger.heldBackMs(clock.now)).to.equal(400);
    direction.stop();
  });

  it('what was read before it goes on (it holds the source, not the data)', async () => {
    const { direction, deliver, sink } = toxicDirection(clock, [new StallStage(0)]);
    deliver(7); // already read: a reader may deliver what it had
    await advance(clock, 0);
    expect(sink.received).to.equal(7);
    direction.stop();
  });

  it('duration 0: held until removed; removal reads again at once', async () => {
    const stage = new StallStage(0);
    const { direction, source } = toxicDirection(clock, [stage]);
    source.write(Buffer.alloc(10));
    await advance(clock, 3_600_000);
    expect([direction.bytesRead, clock.countTimers()]).to.deep.equal([0, 0]);
    direction.removeStage(stage);
    await advance(clock, 0);
    expect([direction.bytesRead, direction.isHeld]).to.deep.equal([10, false]);
    direction.stop();
  });

  it('removed before its time: reads again at once, and the timer is gone', async () => {
    const stage = new StallStage(1000);
    const { direction, source } = toxicDirection(clock, [stage]);
    source.write(Buffer.alloc(10));
    await advance(clock, 10);
    direction.removeStage(stage);
    await advance(clock, 0);
    expect([direction.bytesRead, clock.countTimers()]).to.deep.equal([10, 0]);
    direction.stop();
  });

  it('does not release a hold another reason still has (the Valve resumes only when all are gone)', async () => {
    const other = {};
    const { direction, source } = toxicDirection(clock, [new StallStage(100)]);
    direction.valve.hold(other, 'window');
    source.write(Buffer.alloc(10));
    await advance(clock, 100);
    expect([direction.bytesRead, direction.valve.ledger.reasons()]).to.deep.equal([0, ['window']]);
    direction.valve.release(other);
    await advance(clock, 0);
    expect(direction.bytesRead).to.equal(10);
    direction.stop();
  });
});
