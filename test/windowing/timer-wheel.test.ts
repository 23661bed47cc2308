import { expect } from 'chai';
import fc from 'fast-check';
import { TimerWheel, type WheelEntry } from '../../windowing/index.js';

const entry = (name: string): WheelEntry & { name: string } => ({ name, wheelTick: -1 });

describe('TimerWheel', () => {
  it('an entry on an empty wheel comes due at the tick its delay rounds up to', () => {
    const wheel = new TimerWheel<ReturnType<typeof entry>>(100);
    const a = entry('a');
    expect(wheel.after(a, 250)).to.equal(true); // the caller starts ticking now
    expect(wheel.advance()).to.deep.equal([]);
    expect(wheel.advance()).to.deep.equal([]);
    expect(wheel.advance().map((e) => e.name)).to.deep.equal(['a']); // 300 >= 250
    expect(wheel.size).to.equal(0);
    expect(a.wheelTick).to.equal(-1);
  });

  it('on a running wheel an entry gets one tick more (the tick in progress may be nearly over)', () => {
    const wheel = new TimerWheel<ReturnType<typeof entry>>(100);
    wheel.after(entry('first'), 1000);
    expect(wheel.after(entry('b'), 200)).to.equal(false);
    const dueAt: string[][] = [];
    for (let i = 0; i < 3; i++) dueAt.push(wheel.advance().map((e) => e.name));
    expect(dueAt).to.deep.equal([[], [], ['b']]);
  });

  it('rescheduling the only entry counts as running (its tick is in progress)', () => {
    const wheel = new TimerWheel<ReturnType<typeof entry>>(10);
    const a = entry('a');
    wheel.after(a, 100);
    wheel.advance();
    expect(wheel.after(a, 10)).to.equal(false);
    expect(wheel.advance()).to.deep.equal([]);
    expect(wheel.advance()).to.deep.equal([a]);
  });

  it('cancel takes an entry off (twice is harmless) and the wheel empties', () => {
    const wheel = new TimerWheel<ReturnType<typeof entry>>(10);
    const a = entry('a');
    wheel.after(a, 30);
    wheel.cancel(a);
    wheel.cancel(a);
    expect(wheel.size).to.equal(0);
    for (let i = 0; i < 5; i++) expect(wheel.advance()).to.deep.equal([]);
  });

  it('afterDue keeps a repeated period in whole ticks from the tick it was due at', () => {
    const wheel = new TimerWheel<ReturnType<typeof entry>>(100);
    const a = entry('a');
    wheel.after(a, 1000);
    const due: number[] = [];
    for (let i = 0; i < 35; i++) {
      if (wheel.advance().length) {
        due.push(wheel.tick);
        wheel.afterDue(a, wheel.tick, 1000);
      }
    }
    expect(due).to.deep.equal([10, 20, 30]);
  });

  it('never early, less than two ticks late, for any delays scheduled at any point of the ticking (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.array(fc.record({ atMs: fc.integer({ min: 0, max: 2000 }), delayMs: fc.integer({ min: 0, max: 3000 }) }), { minLength: 1, maxLength: 20 }),
        (tickMs, plan) => {
          // Real time in 1 ms steps; the wheel ticks every tickMs from the moment it was started (empty -> not).
          const wheel = new TimerWheel<WheelEntry & { asked: number; at: number }>(tickMs);
          const sorted = [...plan].sort((a, b) => a.atMs - b.atMs);
          let nextTickAt = Infinity;
          let i = 0;
          for (let now = 0; now <= 6000; now++) {
            while (nextTickAt === now) {
              for (const e of wheel.advance()) {
                expect(now - e.at, 'early').to.be.at.least(e.asked);
                expect(now - e.at, 'late').to.be.below(e.asked + 2 * tickMs);
              }
              nextTickAt = wheel.size > 0 ? now + tickMs : Infinity;
            }
            while (i < sorted.length && sorted[i]!.atMs === now) {
              const p = sorted[i++]!;
              if (wheel.after({ wheelTick: -1, asked: p.delayMs, at: now }, p.delayMs)) nextTickAt = now + tickMs;
            }
          }
          expect(wheel.size).to.equal(0);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('refuses a tick that is not a positive number', () => {
    expect(() => new TimerWheel(0)).to.throw(RangeError, /tickMs/);
    expect(() => new TimerWheel(NaN)).to.throw(RangeError, /tickMs/);
  });
});
