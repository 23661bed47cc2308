import { expect } from 'chai';
import { createServer } from 'node:net';
import sinon from 'sinon';
import { DirectionWindow } from '../../../windowing/index.js';
import { Direction } from '../../../proxy/pipeline/index.js';
import { StreamReader } from '../../../proxy/reads/stream-reader.js';
import { RateStage } from '../../../proxy/stages/index.js';
import { CollectingSink, feed, testDirection } from '../../helpers/pipeline.js';
import { randomBytes, sha256 } from '../../../scenarios/harness/random.js';
import { connectTo, listen, Resources, writeAll } from '../../helpers/sockets.js';

describe('RateStage', () => {
  const res = new Resources();
  let clock: sinon.SinonFakeTimers;

  beforeEach(() => {
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  });
  afterEach(async () => {
    clock.restore();
    await res.closeAll();
  });

  function rated(rate: number, burst: number, chunks: number, size: number) {
    const stage = new RateStage({ rateBytesPerS: rate, burstBytes: burst });
    const { source, sink, direction } = testDirection([stage], { now: () => clock.now, windowBytes: 1 << 20 });
    void feed(source, Array.from({ length: chunks }, () => Buffer.alloc(size)));
    return { stage, source, sink, direction };
  }

  it('lets a burst through, then one chunk per debt paid back, at the set rate', async () => {
    const { stage, sink, direction } = rated(1000, 1000, 20, 500);
    await clock.tickAsync(0);
    // 500 + 500 empty the bucket; the third chunk goes into 500 bytes of debt: held 500 ms.
    expect(sink.received).to.equal(1500);
    expect([stage.holding, direction.isHeld, direction.valve.ledger.reasons()]).to.deep.equal([true, true, ['rate']]);
    await clock.tickAsync(499);
    expect(sink.received).to.equal(1500);
    await clock.tickAsync(1);
    expect(sink.received).to.equal(2000);
    await clock.tickAsync(4500);
    expect(sink.received).to.equal(6500); // burst + one chunk + 1000 B/s for 5 s
    expect(stage.holds).to.equal(11); // chunks 3 to 13 each left a debt
    expect(direction.bytesRead).to.equal(6500);
  });

  it('never lets more than burst + one chunk + rate x time through (many shapes)', async () => {
    for (const [rate, burst, size] of [[1000, 1000, 64], [4096, 512, 4096], [100, 1, 1000]] as const) {
      const { source, sink, direction } = rated(rate, burst, 40, size);
      const start = clock.now;
      for (let step = 0; step < 50; step++) {
        await clock.tickAsync(37);
        expect(sink.received, `rate ${rate} burst ${burst} chunk ${size}`).to.be.at.most(burst + size + Math.floor((rate * (clock.now - start)) / 1000));
      }
      direction.stop();
      source.destroy();
    }
  });

  it('does not resume a source something else still holds: the Valve resumes only when every hold is gone', async () => {
    const { sink, direction } = rated(1000, 1000, 10, 1000);
    const other = {};
    await clock.tickAsync(0);
    expect(sink.received).to.equal(2000);
    direction.valve.hold(other, 'toxic');
    expect(direction.valve.ledger.reasons()).to.have.members(['rate', 'toxic']);
    await clock.tickAsync(1000);
    expect([sink.received, direction.valve.ledger.reasons()]).to.deep.equal([2000, ['toxic']]);
    expect(direction.valve.ledger.pauses).to.equal(1); // one hold with two reasons, not two pauses
    direction.valve.release(other);
    await clock.tickAsync(0);
    expect(sink.received).to.equal(3000);
  });

  it('close() (the direction stopping) cancels a pending release and leaves no timer', async () => {
    const { stage, source, direction } = rated(1000, 1000, 10, 1000);
    await clock.tickAsync(0);
    expect(stage.holding).to.equal(true);
    direction.stop();
    expect([stage.holding, clock.countTimers()]).to.deep.equal([false, 0]);
    source.destroy();
  });

  it('over a real socket: every byte arrives, in order, no faster than the rate', async () => {
    const data = randomBytes(256 * 1024, 21);
    const server = res.server(createServer());
    const port = await listen(server);
    const accepted = new Promise<import('node:net').Socket>((r) => server.once('connection', r));
    const client = res.socket(await connectTo(port));
    const conn = await accepted;
    const sink = new CollectingSink();
    const direction = new Direction({
      reader: new StreamReader(conn),
      sink,
      stages: [new RateStage({ rateBytesPerS: 64 * 1024, burstBytes: 16 * 1024 })],
      window: new DirectionWindow({ windowBytes: 64 * 1024 }),
      now: () => clock.now,
    });
    direction.start();
    void writeAll(client, [data]);
    const start = clock.now;
    while (!sink.ended) {
      await clock.tickAsync(50);
      await new Promise((r) => setImmediate(r)); // a real turn for socket I/O
    }
    expect([sink.received, sha256(sink.bytes())]).to.deep.equal([data.length, sha256(data)]);
    // 256 KiB at 64 KiB/s with a 16 KiB burst: at least (256 - 16 - one chunk of 64) KiB / 64 KiB/s.
    expect(clock.now - start).to.be.at.least(((256 - 16 - 64) * 1000) / 64);
    direction.stop();
  });

  it('rejects a rate of 0 (no limit means no stage)', () => {
    expect(() => new RateStage({ rateBytesPerS: 0 })).to.throw(RangeError, /rateBytesPerS/);
  });
});
