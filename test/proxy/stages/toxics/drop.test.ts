import { expect } from 'chai';
import sinon from 'sinon';
import type { Lender } from '../../../../proxy/pipeline/index.js';
import { MessageStage } from '../../../../proxy/stages/index.js';
import { DropStage } from '../../../../proxy/stages/toxics/index.js';
import { advance, scripted, TOXIC_FAKES, toxicDirection } from '../../../helpers/toxics.js';

describe('toxic drop (DropStage)', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => (clock = sinon.useFakeTimers(TOXIC_FAKES)));
  afterEach(() => clock.restore());

  it('drops a write exactly when random() < probability, counting each', async () => {
    let told = 0;
    // 0.29 < 0.3 drops; 0.3 does not; 0 drops; 0.99 does not.
    const stage = new DropStage(0.3, () => told++, scripted(0.29, 0.3, 0, 0.99));
    const { sink, deliver, direction } = toxicDirection(clock, [stage]);
    for (const m of ['a', 'b', 'c', 'd']) deliver(Buffer.from(m));
    await advance(clock, 0);
    expect([sink.bytes().toString(), stage.dropped, told]).to.deep.equal(['bd', 2, 2]);
    direction.stop();
  });

  it('probability 0 drops nothing, 1 drops everything', async () => {
    for (const [p, want] of [[0, 'abc'], [1, '']] as const) {
      const stage = new DropStage(p, () => {}, Math.random);
      const { sink, deliver, direction } = toxicDirection(clock, [stage]);
      for (const m of ['a', 'b', 'c']) deliver(Buffer.from(m));
      await advance(clock, 0);
      expect(sink.bytes().toString()).to.equal(want);
      direction.stop();
    }
  });

  it('after the message stage, drops whole messages (lines), never part of one', async () => {
    const messages = new MessageStage({ framing: 'lines', policy: 'drop-newest' }, 1 << 20, { tooLarge: () => {}, readBackFailed: () => {} });
    const stage = new DropStage(0.5, () => {}, scripted(0.9, 0.1, 0.9, 0.1, 0.9));
    const { sink, deliver, direction } = toxicDirection(clock, [messages, stage]);
    deliver(Buffer.from('one\ntw'));
    deliver(Buffer.from('o\nthree\nfour\nfive\n'));
    await advance(clock, 0);
    expect(sink.bytes().toString()).to.equal('one\nthree\nfive\n');
    direction.stop();
  });

  it('dropping more than a window of messages never holds the producer, and the end gets through', async () => {
    const windowBytes = 4096;
    const messages = new MessageStage({ framing: 'lines', policy: 'block' }, windowBytes, { tooLarge: () => {}, readBackFailed: () => {} });
    const stage = new DropStage(1, () => {}, Math.random);
    const { sink, deliver, direction } = toxicDirection(clock, [messages, stage], { windowBytes });
    const line = 'x'.repeat(99) + '\n';
    // 40 writes of 10 lines: ten windows' worth, none of it ever reaching the sink to be flushed.
    for (let i = 0; i < 40; i++) deliver(Buffer.from(line.repeat(10)));
    await advance(clock, 0);
    expect([stage.dropped, messages.queue.inFlightBytes, direction.isHeld]).to.deep.equal([400, 0, false]);
    // More than a window arriving in one write: the messages held back go on as the drops settle.
    deliver(Buffer.from(line.repeat(100)));
    direction.end();
    await advance(clock, 0);
    expect([stage.dropped, direction.isHeld, sink.bytes().length, direction.ended]).to.deep.equal([500, false, 0, true]);
    direction.stop();
  });

  it('gives a dropped lent chunk back as consumed', async () => {
    const given: boolean[] = [];
    const lender: Lender = { giveBack: (_chunk, consumed) => given.push(consumed), slackOf: () => 0 };
    const { direction } = toxicDirection(clock, [new DropStage(1, () => {}, Math.random)]);
    direction.deliver(Buffer.from('x'), lender);
    expect(given).to.deep.equal([true]);
    direction.stop();
  });
});
