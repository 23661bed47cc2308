import { expect } from 'chai';
import { PassThrough } from 'node:stream';
import { DirectionWindow, MemoryBudget } from '../../../windowing/index.js';
import { Direction, type Downstream, type Holdable, type Lender, type Stage } from '../../../proxy/pipeline/index.js';
import { StreamReader } from '../../../proxy/reads/stream-reader.js';
import { MessageStage } from '../../../proxy/stages/index.js';
import { CollectingSink, feed, ProbeStage, testDirection } from '../../helpers/pipeline.js';

const tick = () => new Promise((r) => setImmediate(r));
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await tick();
}

describe('Direction', () => {
  it('holds the source when the bytes the sink has not flushed reach the window, and lets go at half', async () => {
    const sink = new CollectingSink(1 << 20);
    sink.held = true;
    const samples: number[] = [];
    let now = 0;
    const source = new PassThrough();
    const direction = new Direction({
      reader: new StreamReader(source),
      sink,
      window: new DirectionWindow({ windowBytes: 1000 }),
      now: () => now,
      onWindowResume: (ms) => samples.push(ms),
    });
    direction.start();
    source.write(Buffer.alloc(600));
    source.write(Buffer.alloc(600));
    source.write(Buffer.alloc(600));
    await settle();
    expect([direction.bytesRead, direction.isHeld, direction.valve.ledger.reasons(), source.isPaused()]).to.deep.equal([1200, true, ['window'], true]);
    now = 40;
    sink.flush();
    await settle();
    expect([direction.bytesRead, direction.isHeld, samples]).to.deep.equal([1800, false, [40]]);
    expect(direction.valve.ledger.heldBackMs(40)).to.equal(40);
    direction.stop();
  });

  it('given what to make its window from, makes window, valve and writer on first use: an idle one reads as zeros; the first bytes are windowed and charged', async () => {
    const budget = new MemoryBudget({ budgetBytes: 1 << 20 });
    const sink = new CollectingSink(1 << 20);
    sink.held = true;
    const source = new PassThrough();
    const direction = new Direction({ reader: new StreamReader(source), sink, window: { windowBytes: 1000, budget }, now: () => 0 });
    direction.start();
    await settle();
    expect([direction.isHeld, direction.ledger.pauses, direction.heldBytes, direction.deliveredBytes, direction.ended]).to.deep.equal([false, 0, 0, 0, false]);
    source.write(Buffer.alloc(1200));
    await settle();
    expect([direction.isHeld, direction.ledger.reasons(), direction.window.watermark.highBytes, budget.usedBytes]).to.deep.equal([true, ['window'], 1000, 1200]);
    source.end();
    sink.flush();
    await settle();
    expect([sink.received, sink.ended, direction.isHeld, direction.ended, direction.deliveredBytes]).to.deep.equal([1200, true, false, true, 1200]);
    direction.stop();
    expect(budget.usedBytes).to.equal(0);
  });

  it('passes an end on to the sink when no byte ever came (the writer is made for it)', async () => {
    const sink = new CollectingSink();
    const source = new PassThrough();
    const direction = new Direction({ reader: new StreamReader(source), sink, window: { windowBytes: 1000 }, now: () => 0 });
    direction.start();
    source.end();
    await settle();
    expect([sink.received, sink.ended, direction.ended]).to.deep.equal([0, true, true]);
    direction.stop();
  });

  it('charges everything it holds to the budget and gives it back when stopped', async () => {
    const budget = new MemoryBudget({ budgetBytes: 1 << 20 });
    const sink = new CollectingSink(1 << 20);
    sink.held = true;
    const source = new PassThrough();
    const direction = new Direction({ reader: new StreamReader(source), sink, window: new DirectionWindow({ windowBytes: 64 * 1024, budget }), now: () => 0 });
    direction.start();
    source.write(Buffer.alloc(5000));
    await settle();
    expect([direction.heldBytes, budget.usedBytes]).to.deep.equal([5000, 5000]);
    direction.stop();
    expect(budget.usedBytes).to.equal(0);
  });

  it('wires each stage to the gate of the nearest queueing stage before it, else to the source', () => {
    const first = new ProbeStage();
    const messages = new MessageStage({ framing: 'lines', policy: 'drop-newest' }, 1024, { tooLarge: () => {}, readBackFailed: () => {} });
    const last = new ProbeStage();
    const { direction, source } = testDirection([first, messages, last], { now: () => 0 });
    expect(first.context.upstream).to.equal(direction.valve);
    expect(last.context.upstream).to.equal(messages.gate);
    // The message stage keeps views of chunks, so what reaches it is a copy made on the way in.
    first.context.next.write(Buffer.from('a\n'), null);
    expect(messages.queue.forwarded).to.equal(1);
    direction.stop();
    source.destroy();
  });

  it('hands copies to a first stage that keeps views of chunks, and gives the lent chunk back at once', async () => {
    const seen: Buffer[] = [];
    const keeper: Stage = {
      takesLeases: false,
      heldBytes: 0,
      attach: () => {},
      write: (chunk) => seen.push(chunk),
      end: () => {},
      close: () => {},
    };
    const given: boolean[] = [];
    const lender: Lender = { giveBack: (_c, consumed) => given.push(consumed), slackOf: () => 0 };
    const { direction, source } = testDirection([keeper], { now: () => 0 });
    const lent = Buffer.from('pooled');
    direction.deliver(lent, lender);
    lent.fill(0); // the lender reuses its buffer at once
    expect([seen.map(String), given]).to.deep.equal([['pooled'], [true]]);
    direction.stop();
    source.destroy();
  });

  it('passes the end through every stage to the sink, after the data', async () => {
    const stages = [new ProbeStage(), new ProbeStage()];
    const { direction, source, sink } = testDirection(stages, { now: () => 0 });
    await feed(source, [Buffer.from('a'), Buffer.from('b')]);
    await settle();
    expect([sink.bytes().toString(), sink.ended, direction.ended]).to.deep.equal(['ab', true, true]);
  });

  it('a stage holding its upstream pauses the source through the Valve only', async () => {
    const stage = new ProbeStage();
    const { direction, source, sink } = testDirection([stage], { now: () => 0 });
    const upstream: Holdable = stage.context.upstream;
    upstream.hold(stage, 'toxic');
    source.write('held');
    await settle();
    expect([sink.received, source.isPaused(), direction.valve.ledger.reasons()]).to.deep.equal([0, true, ['toxic']]);
    upstream.release(stage);
    await settle();
    expect([sink.received, source.isPaused()]).to.deep.equal([4, false]);
    direction.stop();
    const next: Downstream = stage.context.next;
    expect(next).to.not.equal(undefined);
  });
});
