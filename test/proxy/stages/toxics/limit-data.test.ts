import { expect } from 'chai';
import sinon from 'sinon';
import type { Lender } from '../../../../proxy/pipeline/index.js';
import { LimitDataStage, parseToxicSpec, toxicStage } from '../../../../proxy/stages/toxics/index.js';
import { randomBytes } from '../../../../scenarios/harness/random.js';
import { advance, TOXIC_FAKES, toxicDirection } from '../../../helpers/toxics.js';

const env = { random: () => 0, onMessageDropped: () => {} };

describe('toxic limit_data (LimitDataStage)', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => (clock = sinon.useFakeTimers(TOXIC_FAKES)));
  afterEach(() => clock.restore());

  it('exactly `bytes` arrive (the last chunk cut), then the connection closes: FIN after them', async () => {
    const data = randomBytes(1000, 1);
    const { sink, deliver, calls } = toxicDirection(clock, [new LimitDataStage(250)]);
    deliver(data.subarray(0, 200));
    expect(calls.closes).to.deep.equal([]);
    deliver(data.subarray(200, 300));
    deliver(data.subarray(300));
    await advance(clock, 0);
    expect(sink.bytes().equals(data.subarray(0, 250))).to.equal(true);
    expect(calls.closes).to.deep.equal([{ why: 'limit_data', atMs: 0 }]);
    expect(sink.ended).to.equal(true);
  });

  it('closes the moment the count is reached, even when the chunk fits exactly', async () => {
    const { sink, deliver, calls } = toxicDirection(clock, [new LimitDataStage(100)]);
    deliver(100);
    await advance(clock, 0);
    expect([sink.received, calls.closes.length, sink.ended]).to.deep.equal([100, 1, true]);
  });

  it('bytes 0: nothing passes and the first data closes it (not before: toxiproxy waits for input)', async () => {
    const { sink, deliver, calls } = toxicDirection(clock, [new LimitDataStage(0)]);
    await advance(clock, 1000);
    expect(calls.closes).to.deep.equal([]);
    deliver(10);
    await advance(clock, 0);
    expect([sink.received, calls.closes.length, sink.ended]).to.deep.equal([0, 1, true]);
  });

  it('gives a lent chunk back exactly once, also the one cut short (a copy of its head goes on)', async () => {
    const given: Buffer[] = [];
    const lender: Lender = { giveBack: (chunk) => given.push(chunk), slackOf: () => 0 };
    const { sink, direction } = toxicDirection(clock, [new LimitDataStage(5)]);
    const lent = Buffer.from('abcdefgh');
    direction.deliver(lent, lender);
    lent.fill(0x7a); // the lender reuses it at once
    await advance(clock, 0);
    expect([given.length, given[0] === lent, sink.bytes().toString()]).to.deep.equal([1, true, 'abcde']);
  });

  it('the count is carried across an update (toxiproxy keeps the toxic\'s state), and a raised limit lets more through', async () => {
    const spec = parseToxicSpec({ type: 'limit_data', attributes: { bytes: 100 } });
    const first = toxicStage(spec, env)!;
    const { sink, deliver, calls, direction } = toxicDirection(clock, [first]);
    deliver(60);
    const raised = toxicStage({ ...spec, attributes: { bytes: 150 } }, env, first) as LimitDataStage;
    expect(raised.sentBytes).to.equal(60);
    direction.replaceStage(first, raised);
    deliver(60);
    expect(calls.closes).to.deep.equal([]);
    deliver(60);
    await advance(clock, 0);
    expect([sink.received, calls.closes.length]).to.deep.equal([150, 1]);
  });

  it('an update to a limit already passed closes on the next data', async () => {
    const spec = parseToxicSpec({ type: 'limit_data', attributes: { bytes: 100 } });
    const first = toxicStage(spec, env)!;
    const { sink, deliver, calls, direction } = toxicDirection(clock, [first]);
    deliver(60);
    const lowered = toxicStage({ ...spec, attributes: { bytes: 50 } }, env, first)!;
    direction.replaceStage(first, lowered);
    expect(calls.closes).to.deep.equal([]);
    deliver(1);
    await advance(clock, 0);
    expect([sink.received, calls.closes.length]).to.deep.equal([60, 1]);
  });
});
