import { expect } from 'chai';
import { MemoryBudget, OVERFLOW_POLICIES } from '../../../windowing/index.js';
import { MessageStage } from '../../../proxy/stages/index.js';
import { CollectingSink, feed, testDirection } from '../../helpers/pipeline.js';

// The sink here flushes every write at once: the target is idle and keeping up, so the window
// toward it is never full and no policy may drop anything.
const realTurn = () => new Promise((r) => setImmediate(r));

const noEvents = {
  tooLarge: () => expect.fail('no message is too large'),
  readBackFailed: (err: Error) => expect.fail(err.message),
};

async function untilEnded(sink: CollectingSink): Promise<void> {
  for (let turns = 0; !sink.ended; turns++) {
    if (turns > 10_000) expect.fail(`not ended after 10 000 turns: ${sink.received} bytes delivered`);
    await realTurn();
  }
}

describe('MessageStage', () => {
  const WINDOW = 16 * 1024;

  for (const policy of ['drop-newest', 'drop-oldest'] as const) {
    describe(`${policy}, with a sink that keeps up`, () => {
      it('a message as large as the window and a small one after it, in one read chunk: both delivered, nothing dropped', async () => {
        const big = Buffer.from(`${'b'.repeat(WINDOW)}\n`);
        const small = Buffer.from('small\n');
        const stage = new MessageStage({ framing: 'lines', policy }, WINDOW, noEvents);
        const { source, sink } = testDirection([stage], { now: () => 0, windowBytes: WINDOW });
        await feed(source, [Buffer.concat([big, small])]);
        await untilEnded(sink);
        expect(stage.queue.droppedTotal).to.equal(0);
        expect(sink.bytes().equals(Buffer.concat([big, small]))).to.equal(true);
      });

      it('a read chunk of small messages four windows long: every message delivered, nothing dropped', async () => {
        const count = (4 * WINDOW) / 64;
        const messages = Array.from({ length: count }, (_, i) => Buffer.from(`${String(i).padStart(6, '0')} ${'x'.repeat(56)}\n`));
        const stage = new MessageStage({ framing: 'lines', policy }, WINDOW, noEvents);
        const { source, sink } = testDirection([stage], { now: () => 0, windowBytes: WINDOW });
        await feed(source, [Buffer.concat(messages)]);
        await untilEnded(sink);
        expect(stage.queue.droppedTotal).to.equal(0);
        expect(stage.queue.forwarded).to.equal(count);
        expect(sink.bytes().equals(Buffer.concat(messages))).to.equal(true);
      });
    });
  }

  // Two directions into targets that read nothing, each with a window four times the budget: the
  // budget shrinks the windows as it fills, and each queue must shrink with its window.
  describe('with a memory budget', () => {
    for (const policy of OVERFLOW_POLICIES.filter((p) => p !== 'spill')) {
      it(`${policy}: the queue follows the direction's window as the budget shrinks it: stalled directions stay within the budget`, async () => {
        const windowBytes = 256 * 1024;
        // A small floor: the default (16 KiB per window) may by design take a direction past a
        // nearly full budget; this measures the shrinking alone.
        const budget = new MemoryBudget({ budgetBytes: 64 * 1024, minWindowBytes: 1024 });
        const count = 2_000; // 200 KB per direction
        const message = (i: number) => Buffer.from(`${String(i).padStart(6, '0')} ${'x'.repeat(92)}\n`);
        const stages = [0, 1].map(() => new MessageStage({ framing: 'lines', policy }, windowBytes, noEvents));
        let mostUsed = 0;
        const directions = stages.map((stage) => {
          const sink = new CollectingSink();
          sink.held = true;
          const { source, direction } = testDirection([stage], { now: () => 0, windowBytes, budget, sink });
          void feed(source, Array.from({ length: count }, (_, i) => message(i)), false);
          return direction;
        });
        // Block holds the producer once its window is full; the others take every message.
        const settled = () => stages.every((s) => (policy === 'block' ? s.queue.isBlocked : s.queue.offered === count));
        for (let turns = 0; !settled(); turns++) {
          if (turns > 10_000) expect.fail(`not settled after 10 000 turns: offered ${stages.map((s) => s.queue.offered).join(', ')}`);
          mostUsed = Math.max(mostUsed, budget.usedBytes);
          await realTurn();
        }
        mostUsed = Math.max(mostUsed, budget.usedBytes);
        // A queue may pass its window by one message when nothing else is queued (MessageQueue).
        expect(mostUsed, 'bytes charged to the budget, at most').to.be.at.most(budget.budgetBytes + 2 * 100);
        for (const direction of directions) direction.stop();
        expect(budget.usedBytes, 'all given back').to.equal(0);
      });
    }
  });
});
