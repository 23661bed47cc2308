import { expect } from 'chai';
import sinon from 'sinon';
import type { Lender, Stage, StageContext } from '../../../proxy/pipeline/index.js';
import { LatencyStage } from '../../../proxy/stages/toxics/index.js';
import { advance, TOXIC_FAKES, toxicDirection } from '../../helpers/toxics.js';

/** A stage that tags what passes through it, so the order of stages shows in the bytes. */
class TagStage implements Stage {
  readonly takesLeases = true;
  readonly heldBytes = 0;
  flushed: string[] = [];
  ends = 0;
  private context!: StageContext;
  constructor(private readonly tag: string) {}
  attach(context: StageContext): void {
    this.context = context;
  }
  write(chunk: Buffer, lender: Lender | null): void {
    lender?.giveBack(chunk, true);
    this.context.next.write(Buffer.concat([chunk, Buffer.from(this.tag)]), null);
  }
  end(): void {
    this.ends++;
    this.context.next.end();
  }
  flush(why?: string): void {
    this.flushed.push(why ?? '');
  }
  close(): void {}
}

describe('Direction: stages added, replaced and removed while live; finish()', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => (clock = sinon.useFakeTimers(TOXIC_FAKES)));
  afterEach(() => clock.restore());

  it('addStage puts a stage before the one named, else next to the sink', async () => {
    const [a, b, c] = [new TagStage('a'), new TagStage('b'), new TagStage('c')];
    const { sink, deliver, direction } = toxicDirection(clock, [a]);
    direction.addStage(c);
    direction.addStage(b, c);
    deliver(Buffer.from('>'));
    await advance(clock, 0);
    expect(sink.bytes().toString()).to.equal('>abc');
    direction.stop();
  });

  it('replaceStage keeps the place; a stage that cannot adopt is flushed as updated, not removed', async () => {
    const [a, b, c] = [new TagStage('a'), new TagStage('b'), new TagStage('c')];
    const { sink, deliver, direction } = toxicDirection(clock, [a, b, c]);
    const x = new TagStage('x');
    direction.replaceStage(b, x);
    deliver(Buffer.from('>'));
    await advance(clock, 0);
    expect([sink.bytes().toString(), b.flushed]).to.deep.equal(['>axc', ['updated']]);
    direction.removeStage(x);
    expect(x.flushed).to.deep.equal(['removed']);
    direction.stop();
  });

  it('replaceStage with a stage that adopts: nothing is flushed early, the new one carries on with it', async () => {
    const old = new LatencyStage({ latencyMs: 100, jitterMs: 0 });
    const { sink, deliver, direction } = toxicDirection(clock, [new TagStage('a'), old, new TagStage('c')]);
    deliver(Buffer.from('>'));
    await advance(clock, 10);
    direction.replaceStage(old, new LatencyStage({ latencyMs: 50, jitterMs: 0 }));
    await advance(clock, 39);
    expect(sink.received).to.equal(0);
    await advance(clock, 1);
    expect([sink.bytes().toString(), sink.arrivals[0]!.atMs]).to.deep.equal(['>ac', 50]);
    direction.stop();
  });

  it('finish(): what the stages hold goes out, then the end; what is read after is given back and counted', async () => {
    const { sink, deliver, direction } = toxicDirection(clock, [new LatencyStage({ latencyMs: 100, jitterMs: 0 })]);
    deliver(Buffer.from('kept'));
    direction.finish();
    const given: boolean[] = [];
    direction.deliver(Buffer.from('late'), { giveBack: (_c, consumed) => given.push(consumed), slackOf: () => 0 });
    deliver(Buffer.from('later'));
    await advance(clock, 100);
    expect([sink.bytes().toString(), sink.endedAtMs, direction.discardedBytes, given]).to.deep.equal(['kept', 100, 9, [true]]);
    // A FIN from the source afterwards changes nothing.
    direction.end();
    await advance(clock, 0);
    expect(sink.bytes().toString()).to.equal('kept');
  });

  it('finish() after the source already ended does not end the stages twice', async () => {
    const tag = new TagStage('t');
    const { sink, direction } = toxicDirection(clock, [tag]);
    direction.end();
    direction.finish();
    await advance(clock, 0);
    expect([sink.ended, tag.ends]).to.deep.equal([true, 1]);
    direction.stop();
  });

  it('a stage added to a stopped direction is closed at once', () => {
    const { direction } = toxicDirection(clock, []);
    direction.stop();
    const late = new LatencyStage({ latencyMs: 1, jitterMs: 0 });
    const close = sinon.spy(late, 'close');
    direction.addStage(late);
    expect([direction.stageList.length, close.callCount]).to.deep.equal([0, 1]);
  });
});
