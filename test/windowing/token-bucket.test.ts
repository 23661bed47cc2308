import { expect } from 'chai';
import fc from 'fast-check';
import { TokenBucket } from '../../windowing/index.js';

describe('TokenBucket', () => {
  it('starts full: a whole burst goes at once, then nothing until tokens accrue', () => {
    const b = new TokenBucket({ rateBytesPerS: 1000, burstBytes: 1000 });
    expect(b.take(1000, 0)).to.deep.equal({ granted: 1000, retryAfterMs: 0 });
    expect(b.take(1, 0)).to.deep.equal({ granted: 0, retryAfterMs: 1 });
  });

  it('grants part of a request and says when the rest will be there', () => {
    const b = new TokenBucket({ rateBytesPerS: 1000, burstBytes: 1000 });
    b.take(1000, 0);
    expect(b.take(500, 250)).to.deep.equal({ granted: 250, retryAfterMs: 250 });
    expect(b.take(250, 500)).to.deep.equal({ granted: 250, retryAfterMs: 0 });
  });

  it('never holds more than the burst, however long it was quiet', () => {
    const b = new TokenBucket({ rateBytesPerS: 1000, burstBytes: 100 });
    expect(b.take(10_000, 3_600_000)).to.deep.equal({ granted: 100, retryAfterMs: 100 });
  });

  it('asks to wait for at most one burst of a request larger than the bucket', () => {
    const b = new TokenBucket({ rateBytesPerS: 1000, burstBytes: 100 });
    expect(b.take(1_000_000, 0)).to.deep.equal({ granted: 100, retryAfterMs: 100 });
  });

  it('defaults the burst to one second of rate', () => {
    expect(new TokenBucket({ rateBytesPerS: 262_144 }).burstBytes).to.equal(262_144);
    expect(new TokenBucket({ rateBytesPerS: 0.5 }).burstBytes).to.equal(1);
  });

  it('keeps fractional tokens, so small steps add up to the full rate', () => {
    const b = new TokenBucket({ rateBytesPerS: 1000, burstBytes: 1000 });
    b.take(1000, 0);
    let got = 0;
    for (let t = 0.4; t <= 1000.0001; t += 0.4) got += b.take(1000, t).granted;
    expect(got).to.equal(1000);
  });

  it('a clock stepping back neither adds nor removes tokens', () => {
    const b = new TokenBucket({ rateBytesPerS: 1000, burstBytes: 1000, nowMs: 5000 });
    b.take(1000, 5000);
    expect(b.take(10, 4000).granted).to.equal(0);
    expect(b.take(10, 5010).granted).to.equal(10);
  });

  it('charge goes into debt and says how long to stay quiet', () => {
    const b = new TokenBucket({ rateBytesPerS: 1000, burstBytes: 1000 });
    expect(b.charge(600, 0)).to.equal(0);
    expect(b.charge(65_536, 0)).to.equal(65_136); // 65136 bytes of debt at 1 byte/ms
    expect(b.available(65_135)).to.equal(-1);
    expect(b.available(65_136)).to.equal(0);
    expect(b.charge(0, 65_136)).to.equal(0);
  });

  it('waiting exactly retryAfterMs always finds the tokens (random rates and sizes)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000_000 }),
        fc.integer({ min: 1, max: 1 << 20 }),
        fc.array(fc.integer({ min: 1, max: 1 << 20 }), { minLength: 1, maxLength: 20 }),
        (rate, burst, sizes) => {
          const b = new TokenBucket({ rateBytesPerS: rate, burstBytes: burst });
          let now = 0;
          for (const size of sizes) {
            const first = b.take(size, now);
            if (first.retryAfterMs === 0) continue;
            now += first.retryAfterMs;
            const want = Math.min(size - first.granted, burst);
            expect(b.take(want, now).granted).to.equal(want);
          }
        },
      ),
      { seed: 6, numRuns: 300 },
    );
  });

  it('over a long run, never lets more through than burst + rate x time (seed 7)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 1_000_000 }), fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 200 }), (rate, steps) => {
        const b = new TokenBucket({ rateBytesPerS: rate, burstBytes: rate });
        let now = 0;
        let sent = 0;
        for (const step of steps) {
          now += step;
          sent += b.take(1 << 20, now).granted;
        }
        expect(sent).to.be.at.most(rate + Math.floor((rate * now) / 1000));
      }),
      { seed: 7, numRuns: 200 },
    );
  });

  it('rejects bad options and amounts, naming the field', () => {
    expect(() => new TokenBucket({ rateBytesPerS: 0 })).to.throw(RangeError, /rateBytesPerS/);
    expect(() => new TokenBucket({ rateBytesPerS: Infinity })).to.throw(RangeError, /rateBytesPerS/);
    expect(() => new TokenBucket({ rateBytesPerS: 10, burstBytes: 0 })).to.throw(RangeError, /burstBytes/);
    const b = new TokenBucket({ rateBytesPerS: 10 });
    expect(() => b.take(-1, 0)).to.throw(RangeError, /bytes/);
    expect(() => b.charge(1.5, 0)).to.throw(RangeError, /bytes/);
  });
});
