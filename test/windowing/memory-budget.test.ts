import { expect } from 'chai';
import fc from 'fast-check';
import { DEFAULT_MEMORY_BUDGET_BYTES, MemoryBudget } from '../../windowing/index.js';

const KiB = 1024;

describe('MemoryBudget', () => {
  it('defaults to 256 MiB', () => {
    expect(DEFAULT_MEMORY_BUDGET_BYTES).to.equal(268_435_456);
  });

  it('tryAcquire takes all or nothing, exactly up to the budget and not one byte past it', () => {
    const b = new MemoryBudget({ budgetBytes: 1000 });
    expect(b.tryAcquire(999)).to.equal(true);
    expect(b.tryAcquire(2)).to.equal(false);
    expect(b.tryAcquire(1)).to.equal(true);
    expect([b.usedBytes, b.availableBytes, b.fill, b.refusals]).to.deep.equal([1000, 0, 1, 1]);
    expect(b.tryAcquire(1)).to.equal(false);
    expect(b.tryAcquire(0)).to.equal(true);
  });

  it('acquireUpTo grants what fits', () => {
    const b = new MemoryBudget({ budgetBytes: 1000 });
    expect(b.acquireUpTo(600)).to.equal(600);
    expect(b.acquireUpTo(600)).to.equal(400);
    expect(b.acquireUpTo(600)).to.equal(0);
    expect(b.usedBytes).to.equal(1000);
    expect(b.refusals).to.equal(2);
  });

  it('release gives bytes back; releasing more than is held throws', () => {
    const b = new MemoryBudget({ budgetBytes: 1000 });
    b.tryAcquire(300);
    b.release(100);
    expect(b.usedBytes).to.equal(200);
    expect(() => b.release(201)).to.throw(RangeError, /released 201 bytes but only 200 are held/);
    expect(b.usedBytes).to.equal(200);
  });

  describe('effectiveWindow', () => {
    const base = 256 * KiB;
    const cases: [number, number][] = [
      [0, base],
      [0.25, 192 * KiB],
      [0.5, 128 * KiB],
      [0.75, 64 * KiB],
      [0.9, Math.floor(base * 0.1)],
      [0.95, 16 * KiB], // 12.8 KiB scaled, held at the 16 KiB floor
      [1, 16 * KiB],
    ];
    for (const [fill, want] of cases) {
      it(`at fill ${fill} a ${base}-byte window is ${want} bytes`, () => {
        const b = new MemoryBudget({ budgetBytes: 1_000_000 });
        b.tryAcquire(fill * 1_000_000);
        expect(b.effectiveWindow(base)).to.equal(want);
      });
    }

    it('a base smaller than the floor is never raised, and never shrinks to 0', () => {
      const b = new MemoryBudget({ budgetBytes: 100 });
      expect(b.effectiveWindow(1000)).to.equal(1000);
      b.tryAcquire(100);
      expect(b.effectiveWindow(1000)).to.equal(1000);
      expect(b.effectiveWindow(1)).to.equal(1);
      expect(new MemoryBudget({ budgetBytes: 100, minWindowBytes: 1 }).effectiveWindow(7)).to.equal(7);
    });

    it('shrinks monotonically as the budget fills (seed 3)', () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 1 << 30 }), fc.integer({ min: 1, max: 1 << 24 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (budget, base, f1, f2) => {
          const [lo, hi] = f1 <= f2 ? [f1, f2] : [f2, f1];
          const a = new MemoryBudget({ budgetBytes: budget });
          const c = new MemoryBudget({ budgetBytes: budget });
          a.tryAcquire(Math.floor(lo * budget));
          c.tryAcquire(Math.floor(hi * budget));
          expect(c.effectiveWindow(base)).to.be.at.most(a.effectiveWindow(base));
          expect(c.effectiveWindow(base)).to.be.at.least(1);
        }),
        { seed: 3, numRuns: 300 },
      );
    });
  });

  describe('accepting', () => {
    it('stops exactly at the saturation fill and resumes only at the resume fill', () => {
      const b = new MemoryBudget({ budgetBytes: 100, saturationFill: 0.9, resumeFill: 0.5 });
      b.tryAcquire(89);
      expect(b.accepting).to.equal(true);
      b.tryAcquire(1);
      expect([b.accepting, b.saturations]).to.deep.equal([false, 1]);
      b.release(39); // 51: below saturation but above resume: still not accepting
      expect(b.accepting).to.equal(false);
      b.release(1);
      expect(b.accepting).to.equal(true);
      b.tryAcquire(39); // 89 again: no new saturation
      expect([b.accepting, b.saturations]).to.deep.equal([true, 1]);
    });

    it('defaults: saturated at 95%, accepting again at 85%', () => {
      const b = new MemoryBudget({ budgetBytes: 100 });
      expect([b.saturationFill, b.resumeFill]).to.deep.equal([0.95, 0.85]);
      b.tryAcquire(95);
      expect(b.accepting).to.equal(false);
      b.release(10);
      expect(b.accepting).to.equal(true);
    });

    it('a budget filled by acquireUpTo saturates too', () => {
      const b = new MemoryBudget({ budgetBytes: 100 });
      b.acquireUpTo(500);
      expect(b.accepting).to.equal(false);
    });
  });

  it('many slow connections sharing the budget: the sum never passes it (seeded model, seed 11)', () => {
    // Each step: a random connection reads a chunk (taken from the budget only if it fits
    // and its queue is under its effective window) or its slow consumer drains some.
    fc.assert(
      fc.property(
        fc.integer({ min: 64 * KiB, max: 8 << 20 }),
        fc.integer({ min: 1, max: 500 }),
        fc.array(fc.tuple(fc.nat(), fc.boolean(), fc.integer({ min: 1, max: 64 * KiB })), { maxLength: 2000 }),
        (budgetBytes, conns, steps) => {
          const b = new MemoryBudget({ budgetBytes });
          const queued = new Array<number>(conns).fill(0);
          for (const [who, read, size] of steps) {
            const i = who % conns;
            if (read) {
              if (queued[i]! < b.effectiveWindow(256 * KiB) && b.tryAcquire(size)) queued[i]! += size;
            } else {
              const n = Math.min(queued[i]!, size);
              queued[i]! -= n;
              b.release(n);
            }
            expect(b.usedBytes).to.be.at.most(budgetBytes);
            expect(b.usedBytes).to.equal(queued.reduce((s, q) => s + q, 0));
          }
        },
      ),
      { seed: 11, numRuns: 100 },
    );
  });

  it('rejects bad options naming the field', () => {
    expect(() => new MemoryBudget({ budgetBytes: 0 })).to.throw(RangeError, /budgetBytes/);
    expect(() => new MemoryBudget({ budgetBytes: 10, minWindowBytes: 0 })).to.throw(RangeError, /minWindowBytes/);
    expect(() => new MemoryBudget({ budgetBytes: 10, saturationFill: 1.5 })).to.throw(RangeError, /saturationFill/);
    expect(() => new MemoryBudget({ budgetBytes: 10, saturationFill: 0.5, resumeFill: 0.5 })).to.throw(RangeError, /resumeFill/);
    expect(() => new MemoryBudget({ budgetBytes: 10 }).tryAcquire(-1)).to.throw(RangeError, /bytes/);
    expect(() => new MemoryBudget({ budgetBytes: 10 }).effectiveWindow(0)).to.throw(RangeError, /baseBytes/);
  });
});
