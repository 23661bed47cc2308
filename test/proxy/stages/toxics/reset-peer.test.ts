import { expect } from 'chai';
import sinon from 'sinon';
import { ResetPeerStage } from '../../../../proxy/stages/toxics/index.js';
import { advance, TOXIC_FAKES, toxicDirection } from '../../../helpers/toxics.js';

describe('toxic reset_peer (ResetPeerStage)', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => (clock = sinon.useFakeTimers(TOXIC_FAKES)));
  afterEach(() => clock.restore());

  it('nothing happens before data; RST exactly `timeout` ms after the first data, which is dropped', async () => {
    const stage = new ResetPeerStage(250);
    const { sink, deliver, calls, direction } = toxicDirection(clock, [stage]);
    await advance(clock, 10_000);
    expect([calls.resets, clock.countTimers()]).to.deep.equal([[], 0]);
    deliver(100);
    await advance(clock, 100);
    deliver(50); // a second chunk does not re-arm
    await advance(clock, 149);
    expect([calls.resets, sink.received, stage.droppedBytes]).to.deep.equal([[], 0, 150]);
    await advance(clock, 1);
    expect(calls.resets).to.deep.equal([{ why: 'reset_peer', atMs: 10_250 }]);
    expect(calls.closes).to.deep.equal([]);
    direction.stop();
  });

  it('holds the producer (reason toxic) from the first data on, as toxiproxy stops reading', async () => {
    const { deliver, direction, source } = toxicDirection(clock, [new ResetPeerStage(250)]);
    deliver(1);
    expect([direction.valve.ledger.reasons(), source.isPaused()]).to.deep.equal([['toxic'], true]);
    direction.stop();
  });

  it('the end arms it too (toxiproxy reads the close off its input)', async () => {
    const { calls, direction } = toxicDirection(clock, [new ResetPeerStage(20)]);
    direction.end();
    await advance(clock, 20);
    expect(calls.resets).to.deep.equal([{ why: 'reset_peer', atMs: 20 }]);
    direction.stop();
  });

  it('timeout 0 resets on the next timer turn', async () => {
    const { deliver, calls, direction } = toxicDirection(clock, [new ResetPeerStage(0)]);
    deliver(1);
    await advance(clock, 0);
    expect(calls.resets).to.deep.equal([{ why: 'reset_peer', atMs: 0 }]);
    direction.stop();
  });

  it('removed before it rings: no reset, the producer let go, no timer left', async () => {
    const stage = new ResetPeerStage(250);
    const { deliver, calls, direction } = toxicDirection(clock, [stage]);
    deliver(1);
    await advance(clock, 100);
    direction.removeStage(stage);
    await advance(clock, 1000);
    expect([calls.resets, direction.isHeld, clock.countTimers()]).to.deep.equal([[], false, 0]);
    direction.stop();
  });
});
