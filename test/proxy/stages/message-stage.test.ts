import { expect } from 'chai';
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
});
