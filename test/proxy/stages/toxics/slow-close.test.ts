import { expect } from 'chai';
import sinon from 'sinon';
import { SlowCloseStage } from '../../../../proxy/stages/toxics/index.js';
import { advance, TOXIC_FAKES, toxicDirection } from '../../../helpers/toxics.js';

describe('toxic slow_close (SlowCloseStage)', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => (clock = sinon.useFakeTimers(TOXIC_FAKES)));
  afterEach(() => clock.restore());

  it('data passes at once; the FIN goes on exactly `delay` ms after the end came', async () => {
    const { sink, deliver, direction } = toxicDirection(clock, [new SlowCloseStage(300)]);
    deliver(Buffer.from('reply'));
    await advance(clock, 10);
    expect(sink.arrivals).to.deep.equal([{ atMs: 0, bytes: 5 }]);
    direction.end();
    await advance(clock, 299);
    expect(sink.ended).to.equal(false);
    await advance(clock, 1);
    expect(sink.endedAtMs).to.equal(310);
  });

  it('removed while the FIN waits: it goes on at once, and no timer is left', async () => {
    const stage = new SlowCloseStage(300);
    const { sink, direction } = toxicDirection(clock, [stage]);
    direction.end();
    await advance(clock, 50);
    direction.removeStage(stage);
    await advance(clock, 0);
    expect([sink.endedAtMs, clock.countTimers()]).to.deep.equal([50, 0]);
  });

  it('removed before any end: nothing is sent early, and the end later passes straight through', async () => {
    const stage = new SlowCloseStage(300);
    const { sink, direction } = toxicDirection(clock, [stage]);
    direction.removeStage(stage);
    await advance(clock, 10);
    expect(sink.ended).to.equal(false);
    direction.end();
    await advance(clock, 0);
    expect(sink.endedAtMs).to.equal(10);
  });

  it('a delay of 0 still passes the end on (on the next timer turn)', async () => {
    const { sink, direction } = toxicDirection(clock, [new SlowCloseStage(0)]);
    direction.end();
    await advance(clock, 0);
    expect(sink.endedAtMs).to.equal(0);
  });
});
