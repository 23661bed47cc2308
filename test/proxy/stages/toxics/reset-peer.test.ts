import { expect } from 'chai';
import sinon from 'sinon';
import { ResetPeerStage } from '../../../../proxy/stages/toxics/index.js';
import { advance, TOXIC_FAKES, toxicDirection } from '../../../helpers/toxics.js';

describe('toxic reset_peer (ResetPeerStage)', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => (clock = sinon.useFakeTimers(TOXIC_FAKES)));
  afterEach(() => clock.restore());

  it('nothing happens before data; RST exactly `timeout` ms after the first data, which the reset discards', async () => {
    const stage = new ResetPeerStage(250);
    const { sink, deliver, calls, direction } = toxicDirection(clock, [stage]);
    await advance(clock, 10_000);
    expect([calls.resets, clock.countTimers()]).to.deep.equal([[], 0]);
    deliver(100);
    await advance(clock, 100);
    deliver(50); // a second chunk does not re-arm
    await advance(clock, 149);
    expect([calls.resets, sink.received, stage.heldBytes, stage.droppedBytes]).to.deep.equal([[], 0, 150, 0]);
    await advance(clock, 1);
    expect(calls.resets).to.deep.equal([{ why: 'reset_peer', atMs: 10_250 }]);
    expect([calls.closes, sink.received, stage.heldBytes, stage.droppedBytes]).to.deep.equal([[], 0, 0, 150]);
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

  // Removed, or drawn out by a toxicity update: what arrived before is handed on, then what follows,
  // then the end: never a gap closed by a normal FIN.
  for (const why of ['removed', 'updated'] as const) {
    it(`${why} after data came: that data goes on first, in order, then the rest and the end`, async () => {
      const stage = new ResetPeerStage(1000);
      const { sink, deliver, calls, direction } = toxicDirection(clock, [stage]);
      deliver(Buffer.from('AAAA'));
      await advance(clock, 300);
      direction.removeStage(stage, why);
      deliver(Buffer.from('BBBB'));
      direction.end();
      await advance(clock, 1000);
      expect([sink.bytes().toString(), sink.endedAtMs, calls.resets, direction.isHeld]).to.deep.equal(['AAAABBBB', 300, [], false]);
      direction.stop();
    });
  }

  it('an end held with the data goes on after it when removed', async () => {
    const stage = new ResetPeerStage(1000);
    const { sink, deliver, direction } = toxicDirection(clock, [stage]);
    deliver(Buffer.from('AAAA'));
    direction.end();
    await advance(clock, 10);
    expect(sink.ended).to.equal(false);
    direction.removeStage(stage);
    await advance(clock, 0);
    expect([sink.bytes().toString(), sink.endedAtMs]).to.deep.equal(['AAAA', 10]);
    direction.stop();
  });

  it('updated while armed: the reset still comes, the new timeout counted from the first data; the producer stays held', async () => {
    const stage = new ResetPeerStage(1000);
    const { sink, deliver, calls, direction } = toxicDirection(clock, [stage]);
    deliver(Buffer.from('AAAA'));
    await advance(clock, 300);
    const updated = new ResetPeerStage(5000);
    direction.replaceStage(stage, updated);
    expect([direction.isHeld, updated.heldBytes]).to.deep.equal([true, 4]);
    await advance(clock, 4699);
    expect([calls.resets, sink.received]).to.deep.equal([[], 0]);
    await advance(clock, 1);
    expect([calls.resets, updated.droppedBytes]).to.deep.equal([[{ why: 'reset_peer', atMs: 5000 }], 4]);
    direction.stop();
  });

  it('updated before any data: arms on data under the new timeout', async () => {
    const stage = new ResetPeerStage(1000);
    const { deliver, calls, direction } = toxicDirection(clock, [stage]);
    direction.replaceStage(stage, new ResetPeerStage(50));
    deliver(1);
    await advance(clock, 50);
    expect(calls.resets).to.deep.equal([{ why: 'reset_peer', atMs: 50 }]);
    direction.stop();
  });
});
