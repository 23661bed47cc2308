import { expect } from 'chai';
import { createServer } from 'node:net';
import { PassThrough } from 'node:stream';
import sinon from 'sinon';
import { RateLimiter } from '../../../proxy/relay/rate-limiter.js';
import { randomBytes, sha256 } from '../../helpers/random.js';
import { connectTo, listen, readAll, Resources, writeAll } from '../../helpers/sockets.js';

describe('RateLimiter', () => {
  const res = new Resources();
  let clock: sinon.SinonFakeTimers;

  beforeEach(() => {
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  });
  afterEach(async () => {
    clock.restore();
    await res.closeAll();
  });

  /**
   * A source that will carry `chunks` chunks of `size` bytes, and a counter of what flowed.
   * Writing starts on the next tick, after the test has started its limiter (a flowing
   * PassThrough emits 'data' synchronously inside write()).
   */
  function source(chunks: number, size: number): { src: PassThrough; seen: () => number } {
    const src = new PassThrough({ highWaterMark: size });
    let seen = 0;
    src.on('data', (d: Buffer) => (seen += d.length));
    process.nextTick(async () => {
      for (let i = 0; i < chunks; i++) if (!src.write(Buffer.alloc(size))) await new Promise((r) => src.once('drain', r));
      src.end();
    });
    return { src, seen: () => seen };
  }

  it('lets a burst through, then one chunk per debt paid back, at the set rate', async () => {
    const { src, seen } = source(20, 500);
    const limiter = new RateLimiter(src, { rateBytesPerS: 1000, burstBytes: 1000, now: () => clock.now });
    limiter.start();
    await clock.tickAsync(0);
    // 500 + 500 empty the bucket; the third chunk goes into 500 bytes of debt: pause 500 ms.
    expect(seen()).to.equal(1500);
    expect(limiter.holding).to.equal(true);
    await clock.tickAsync(499);
    expect(seen()).to.equal(1500);
    await clock.tickAsync(1);
    expect(seen()).to.equal(2000);
    await clock.tickAsync(4500);
    expect(seen()).to.equal(6500); // burst + one chunk + 1000 B/s for 5 s
    expect(limiter.pauses).to.equal(11); // chunks 3 to 13 each left a debt
  });

  it('never lets more than burst + one chunk + rate x time through (many shapes)', async () => {
    for (const [rate, burst, size] of [[1000, 1000, 64], [4096, 512, 4096], [100, 1, 1000]] as const) {
      const { src, seen } = source(40, size);
      const limiter = new RateLimiter(src, { rateBytesPerS: rate, burstBytes: burst, now: () => clock.now });
      limiter.start();
      const start = clock.now;
      for (let step = 0; step < 50; step++) {
        await clock.tickAsync(37);
        expect(seen(), `rate ${rate} burst ${burst} chunk ${size}`).to.be.at.most(burst + size + Math.floor((rate * (clock.now - start)) / 1000));
      }
      limiter.stop();
      src.destroy();
    }
  });

  it('does not resume a source another owner wants paused (canResume), and reports holding', async () => {
    const { src, seen } = source(10, 1000);
    let backpressure = true;
    const limiter = new RateLimiter(src, { rateBytesPerS: 1000, burstBytes: 1000, now: () => clock.now, canResume: () => !backpressure });
    limiter.start();
    await clock.tickAsync(0);
    expect([seen(), limiter.holding]).to.deep.equal([2000, true]);
    await clock.tickAsync(1000);
    expect([seen(), limiter.holding, src.isPaused()]).to.deep.equal([2000, false, true]);
    backpressure = false;
    src.resume(); // the other owner resumes once its own reason is gone
    await clock.tickAsync(0);
    expect(seen()).to.equal(3000);
  });

  it('stop() cancels a pending resume and detaches', async () => {
    const { src, seen } = source(10, 1000);
    const limiter = new RateLimiter(src, { rateBytesPerS: 1000, now: () => clock.now });
    limiter.start();
    await clock.tickAsync(0);
    limiter.stop();
    expect(limiter.holding).to.equal(false);
    await clock.tickAsync(10_000);
    expect(seen()).to.equal(2000); // still paused: nobody resumed it
    src.resume();
    await clock.tickAsync(0);
    expect(seen()).to.equal(10_000);
    expect(limiter.bytes).to.equal(2000);
  });

  it('releases its timer when the source closes', async () => {
    const { src } = source(10, 1000);
    const limiter = new RateLimiter(src, { rateBytesPerS: 1000, now: () => clock.now });
    limiter.start();
    await clock.tickAsync(0);
    expect(limiter.holding).to.equal(true);
    src.destroy();
    await clock.tickAsync(0);
    expect([limiter.holding, clock.countTimers()]).to.deep.equal([false, 0]);
  });

  it('over a real socket: every byte arrives, in order, no faster than the rate', async () => {
    const data = randomBytes(256 * 1024, 21);
    const server = res.server(createServer());
    const port = await listen(server);
    const accepted = new Promise<import('node:net').Socket>((r) => server.once('connection', r));
    const client = res.socket(await connectTo(port));
    const conn = await accepted;
    const limiter = new RateLimiter(conn, { rateBytesPerS: 64 * 1024, burstBytes: 16 * 1024, now: () => clock.now });
    const got = readAll(conn);
    limiter.start();
    void writeAll(client, [data]);
    let done = false;
    void got.then(() => (done = true));
    const start = clock.now;
    while (!done) {
      await clock.tickAsync(50);
      await new Promise((r) => setImmediate(r)); // a real turn for socket I/O
    }
    expect(await got).to.deep.equal({ bytes: data.length, sha256: sha256(data) });
    // 256 KiB at 64 KiB/s with a 16 KiB burst: at least (256 - 16 - one chunk of 64) KiB / 64 KiB/s.
    expect(clock.now - start).to.be.at.least(((256 - 16 - 64) * 1000) / 64);
  });

  it('rejects a rate of 0 (no limit means no limiter)', () => {
    expect(() => new RateLimiter(new PassThrough(), { rateBytesPerS: 0 })).to.throw(RangeError, /rateBytesPerS/);
  });
});
