import { expect } from 'chai';
import sinon from 'sinon';
import { LatencyStage, TimeoutStage } from '../../../../proxy/stages/toxics/index.js';
import { advance, TOXIC_FAKES, toxicDirection } from '../../../helpers/toxics.js';

describe('toxic timeout (TimeoutStage)', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => (clock = sinon.useFakeTimers(TOXIC_FAKES)));
  afterEach(() => clock.restore());

  it('drops the data, and closes the connection exactly `timeout` ms after the toxic began when no data comes', async () => {
    const stage = new TimeoutStage(500);
    const { sink, calls, direction } = toxicDirection(clock, [stage]);
    await advance(clock, 499);
    expect(calls.closes).to.deep.equal([]);
    await advance(clock, 1);
    expect(calls.closes).to.deep.equal([{ why: 'timeout', atMs: 500 }]);
    // The relay finishes the direction: the sink gets a FIN after nothing.
    expect([sink.received, sink.endedAtMs]).to.deep.equal([0, 500]);
    direction.stop();
  });

  it('every chunk starts the clock again (toxiproxy waits on a fresh time.After per chunk): closes `timeout` ms after the last', async () => {
    const stage = new TimeoutStage(500);
    const { sink, deliver, calls, direction } = toxicDirection(clock, [stage]);
    for (const at of [200, 600, 1000]) {
      await advance(clock, at - clock.now);
      deliver(100);
    }
    await advance(clock, 499);
    expect([sink.received, stage.droppedBytes, calls.closes]).to.deep.equal([0, 300, []]);
    await advance(clock, 1);
    expect(calls.closes).to.deep.equal([{ why: 'timeout', atMs: 1500 }]);
    direction.stop();
  });

  it('timeout 0: data dropped, never closes, until removed: removal closes it (toxiproxy\'s Cleanup)', async () => {
    const stage = new TimeoutStage(0);
    const { sink, deliver, calls, direction } = toxicDirection(clock, [stage]);
    deliver(10);
    await advance(clock, 3_600_000);
    expect([sink.received, calls.closes, clock.countTimers()]).to.deep.equal([0, [], 0]);
    direction.removeStage(stage);
    expect(calls.closes).to.deep.equal([{ why: 'timeout', atMs: 3_600_000 }]);
    direction.stop();
  });

  it('removed before it rings: closes at removal, and does not ring later', async () => {
    const stage = new TimeoutStage(500);
    const { calls, direction } = toxicDirection(clock, [stage]);
    await advance(clock, 100);
    direction.removeStage(stage);
    await advance(clock, 1000);
    expect(calls.closes).to.deep.equal([{ why: 'timeout', atMs: 100 }]);
    direction.stop();
  });

  it('what stages before it hold is dropped when it arrives; what is after it still goes out first', async () => {
    const after = new LatencyStage({ latencyMs: 1000, jitterMs: 0 });
    const { sink, deliver, calls, direction } = toxicDirection(clock, [after]);
    deliver(Buffer.from('sent before'));
    direction.addStage(new TimeoutStage(100), after);
    deliver(Buffer.from('dropped'));
    await advance(clock, 100);
    expect(calls.closes.length).to.equal(1);
    expect(sink.received).to.equal(0);
    await advance(clock, 900);
    expect([sink.bytes().toString(), sink.endedAtMs]).to.deep.equal(['sent before', 1000]);
    direction.stop();
  });

  it('stopped: no timer left', () => {
    const { direction } = toxicDirection(clock, [new TimeoutStage(500)]);
    direction.stop();
    expect(clock.countTimers()).to.equal(0);
  });
});
