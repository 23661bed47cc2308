import { expect } from 'chai';
import fc from 'fast-check';
import { Backoff, BACKOFF_DEFAULTS } from '../../windowing/index.js';

describe('Backoff', () => {
  it('defaults: 100 ms, doubling, capped at 10 s, +/- 20%', () => {
    expect(BACKOFF_DEFAULTS).to.deep.equal({ initialMs: 100, multiplier: 2, maxMs: 10_000, jitter: 0.2 });
    const b = new Backoff();
    // random 0.5 is the middle of the spread: no jitter.
    expect(Array.from({ length: 10 }, () => b.next(0.5))).to.deep.equal([100, 200, 400, 800, 1600, 3200, 6400, 10_000, 10_000, 10_000]);
    expect(b.attempts).to.equal(10);
  });

  const spreads: [number, number][] = [
    [0, 80],
    [0.25, 90],
    [0.5, 100],
    [0.999999, 120],
    [1, 120],
    [-3, 80],
    [Number.NaN, 100],
  ];
  for (const [random, expected] of spreads) {
    it(`random ${random} spreads the first 100 ms delay to ${expected} ms`, () => {
      expect(new Backoff().next(random)).to.equal(expected);
    });
  }

  it('the jitter never pushes a delay past the cap', () => {
    const b = new Backoff({ initialMs: 1000, maxMs: 1000 });
    expect(b.next(1)).to.equal(1000);
    expect(b.next(0)).to.equal(800);
  });

  it('reset() starts over from the initial delay', () => {
    const b = new Backoff({ jitter: 0 });
    b.next(0);
    b.next(0);
    b.reset();
    expect(b.attempts).to.equal(0);
    expect(b.next(0)).to.equal(100);
  });

  it('survives thousands of failures without overflowing', () => {
    const b = new Backoff({ jitter: 0 });
    for (let i = 0; i < 5000; i++) b.next(0.5);
    expect(b.next(0.5)).to.equal(10_000);
  });

  const bad: [string, object][] = [
    ['initialMs', { initialMs: -1 }],
    ['multiplier', { multiplier: 0.5 }],
    ['maxMs', { initialMs: 500, maxMs: 100 }],
    ['jitter', { jitter: 1.5 }],
    ['initialMs', { initialMs: Number.NaN }],
  ];
  for (const [name, options] of bad) {
    it(`rejects ${JSON.stringify(options)} naming ${name}`, () => {
      expect(() => new Backoff(options)).to.throw(RangeError, new RegExp(`^${name} must be`));
    });
  }

  it('every delay lies within the jittered band of its exponential step (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5000 }),
        fc.double({ min: 1, max: 4, noNaN: true }),
        fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 1, maxLength: 40 }),
        (initialMs, multiplier, randoms) => {
          const maxMs = initialMs * 50;
          const b = new Backoff({ initialMs, multiplier, maxMs });
          randoms.forEach((r, i) => {
            const base = Math.min(maxMs, initialMs * multiplier ** i);
            const d = b.next(r);
            expect(d).to.be.at.least(Math.floor(base * 0.8) - 1);
            expect(d).to.be.at.most(Math.min(maxMs, Math.ceil(base * 1.2) + 1));
          });
        },
      ),
    );
  });
});
