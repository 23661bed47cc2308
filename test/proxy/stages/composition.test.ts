import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sinon from 'sinon';
import { OVERFLOW_POLICIES, type OverflowPolicy } from '../../../windowing/index.js';
import { SpillStore } from '../../../proxy/spill/index.js';
import { MessageStage, RateStage } from '../../../proxy/stages/index.js';
import { feed, testDirection } from '../../helpers/pipeline.js';

/**
 * A rate stage after the message stage, for each overflow policy: the rate shapes what reaches
 * the sink; the policy decides what happens to the surplus. Block holds the producer (the window
 * fills at the rate); drop-newest and drop-oldest never hold it and drop whole messages, counted;
 * spill never holds it and delivers everything, in order, at the rate.
 */
// Captured before sinon fakes the timers: real waits for the spill files' I/O.
const realSetTimeout = globalThis.setTimeout;
const realTurn = () => new Promise((r) => realSetTimeout(r, 1));

describe('a rate stage after the message stage, with each overflow policy', () => {
  const RATE = 20_000; // bytes per second
  const BURST = 2_000;
  const WINDOW = 8 * 1024;
  const MESSAGE = 100; // bytes, newline included
  const COUNT = 1500; // 150 KB offered at once: 7.5 s at the rate
  let clock: sinon.SinonFakeTimers;
  let spillDir: string | null = null;
  let store: SpillStore | null = null;

  beforeEach(() => {
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  });
  afterEach(async () => {
    clock.restore();
    await store?.close();
    store = null;
    if (spillDir) rmSync(spillDir, { recursive: true, force: true });
    spillDir = null;
  });

  const message = (i: number) => Buffer.from(`${String(i).padStart(6, '0')} ${'x'.repeat(MESSAGE - 8)}\n`);

  for (const policy of OVERFLOW_POLICIES) {
    it(`${policy}: ${policy === 'block' ? 'holds the producer' : 'never holds the producer'}; delivered + dropped = sent, in order, at the rate`, async () => {
      let spool;
      if (policy === 'spill') {
        spillDir = mkdtempSync(join(tmpdir(), 'sluice-composition-'));
        store = await SpillStore.open({ dir: spillDir, maxBytes: 64 * 1024 * 1024 });
        spool = store.openSpool();
      }
      const messages = new MessageStage({ framing: 'lines', policy: policy as OverflowPolicy, ...(spool ? { spool } : {}) }, WINDOW, {
        tooLarge: () => expect.fail('no message is too large'),
        readBackFailed: (err) => expect.fail(err.message),
      });
      const rate = new RateStage({ rateBytesPerS: RATE, burstBytes: BURST });
      const { source, sink, direction } = testDirection([messages, rate], { now: () => clock.now, windowBytes: WINDOW });
      const start = clock.now;
      let producerDoneAt = -1;
      void feed(source, Array.from({ length: COUNT }, (_, i) => message(i))).then(() => (producerDoneAt = clock.now - start));
      let maxOver = -Infinity;
      for (let turns = 0; !sink.ended; turns++) {
        // The clock moves only while the rate holds the flow; otherwise what is pending is real I/O.
        if (rate.holding) await clock.tickAsync(50);
        else await realTurn();
        maxOver = Math.max(maxOver, sink.received - (BURST + MESSAGE * 2 + (RATE * (clock.now - start)) / 1000));
        if (turns > 20_000) {
          const m = messages as unknown as Record<string, unknown>;
          expect.fail(`not finished after 20 000 turns: ${sink.received} bytes delivered; backlog ${messages.queue.backlogMessages} queued ${messages.queue.queuedMessages} held ${(m.held as unknown[]).length} readingBack ${String(m.readingBack)} outputHolds ${(m.outputHolds as Set<object>).size} rate holding ${rate.holding} inputEnded ${String(m.inputEnded)} timers ${clock.countTimers()}`);
        }
      }
      const lines = sink.bytes().toString().split('\n').slice(0, -1);
      const ids = lines.map((l) => Number(l.slice(0, 6)));
      const dropped = messages.queue.droppedTotal;

      expect(maxOver, 'never faster than the rate').to.be.at.most(0);
      expect(ids.length + dropped, 'delivered + dropped = sent').to.equal(COUNT);
      expect(ids.every((id, i) => i === 0 || id > ids[i - 1]!), 'order kept').to.equal(true);
      expect(lines.every((l) => l.length === MESSAGE - 1), 'only whole messages').to.equal(true);
      if (policy === 'block') {
        expect(direction.valve.ledger.pauses, 'the producer held').to.be.greaterThan(0);
        expect(dropped).to.equal(0);
        // The producer could finish only once all but a window (and a burst) had gone at the rate.
        // (The source PassThrough buffers 16 KiB each side too.)
        expect(producerDoneAt).to.be.at.least(((COUNT * MESSAGE - WINDOW - BURST - 2 * MESSAGE - 32 * 1024) * 1000) / RATE);
      } else {
        expect(direction.valve.ledger.pauses, 'the producer never held').to.equal(0);
        expect(producerDoneAt, 'the producer finished at once').to.be.at.most(100);
      }
      if (policy === 'drop-newest' || policy === 'drop-oldest') expect(dropped).to.be.greaterThan(COUNT / 2);
      if (policy === 'drop-oldest') expect(ids[ids.length - 1]).to.equal(COUNT - 1);
      if (policy === 'spill') {
        expect(dropped).to.equal(0);
        expect(messages.queue.spilled).to.be.greaterThan(0);
      }
      // Everything delivered went at the rate: the whole took at least (delivered - burst) / rate.
      expect(clock.now - start).to.be.at.least(((sink.received - BURST - 2 * MESSAGE) * 1000) / RATE);
      direction.stop();
    });
  }
});
