import { expect } from 'chai';
import fc from 'fast-check';
import { TimerWheel, type WheelEntry } from '../../windowing/index.js';

type Named = WheelEntry & { name: string };
const entry = (name: string): Named => ({ name, wheelTick: -1 });
const names = (es: Named[]): string[] => es.map((e) => e.name);

describe('TimerWheel', () => {
  it('an entry comes due at the first tick boundary at or after its time', () => {
    const wheel = new TimerWheel<Named>(100);
    wheel.at(entry('a'), 250);
    wheel.at(entry('b'), 300);
    expect(wheel.due(299)).to.deep.equal([]);
    expect(names(wheel.due(300))).to.deep.equal(['a', 'b']);
    expect(wheel.size).to.equal(0);
  });

  it('hands out everything due by a late call, earliest first, even after a long gap', () => {
    const wheel = new TimerWheel<Named>(10);
    wheel.due(0);
    wheel.at(entry('late'), 50_000);
    wheel.at(entry('early'), 20);
    wheel.at(entry('not yet'), 90_000);
    expect(names(wheel.due(60_000))).to.deep.equal(['early', 'late']);
    expect(wheel.size).to.equal(1);
  });

  it('an entry placed at a tick already handed out comes due at the next call', () => {
    const wheel = new TimerWheel<Named>(100);
    wheel.due(1000);
    const a = entry('a');
    wheel.at(a, 950); // its boundary (1000) was handed out already
    expect(names(wheel.due(1050))).to.deep.equal([]);
    expect(names(wheel.due(1100))).to.deep.equal(['a']);
    expect(a.wheelTick).to.equal(-1);
  });

  it('cancel takes an entry off (twice is harmless); placing again moves it', () => {
    const wheel = new TimerWheel<Named>(10);
    const a = entry('a');
    wheel.at(a, 30);
    wheel.cancel(a);
    wheel.cancel(a);
    expect(wheel.size).to.equal(0);
    wheel.at(a, 30);
    wheel.at(a, 70);
    expect(wheel.size).to.equal(1);
    expect(wheel.due(50)).to.deep.equal([]);
    expect(names(wheel.due(70))).to.deep.equal(['a']);
  });

  it('never early, less than a tick late when called at every boundary (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.array(fc.record({ atMs: fc.integer({ min: 0, max: 2000 }), delayMs: fc.integer({ min: 0, max: 3000 }) }), { minLength: 1, maxLength: 20 }),
        (tickMs, plan) => {
          const wheel = new TimerWheel<WheelEntry & { dueMs: number }>(tickMs);
          const sorted = [...plan].sort((a, b) => a.atMs - b.atMs);
          let i = 0;
          for (let now = 0; now <= 6000; now++) {
            while (i < sorted.length && sorted[i]!.atMs === now) {
              const p = sorted[i++]!;
              wheel.at({ wheelTick: -1, dueMs: now + p.delayMs }, now + p.delayMs);
            }
            if (now % tickMs === 0) {
              for (const e of wheel.due(now)) {
                expect(now, 'early').to.be.at.least(e.dueMs);
                expect(now, 'late').to.be.below(e.dueMs + tickMs);
              }
            }
          }
          expect(wheel.size).to.equal(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('hands out what a simple list of entries would, whatever is placed, moved and cancelled (property)', () => {
    // Cancelling the first, a middle or the last entry of a bucket, and moving an entry to another
    // tick, must keep every other entry in its place and order.
    const op = fc.oneof(
      fc.record({ kind: fc.constant('at' as const), i: fc.nat(7), dueMs: fc.integer({ min: 0, max: 400 }) }),
      fc.record({ kind: fc.constant('cancel' as const), i: fc.nat(7) }),
      fc.record({ kind: fc.constant('due' as const), nowMs: fc.integer({ min: 0, max: 400 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const wheel = new TimerWheel<Named>(20);
        const entries = Array.from({ length: 8 }, (_, i) => entry(String(i)));
        // The model: each placed entry's tick, and the order entries were placed in.
        let model: { e: Named; tick: number; seq: number }[] = [];
        let seq = 0;
        let doneTick = -Infinity;
        for (const o of ops) {
          if (o.kind === 'at') {
            model = model.filter((m) => m.e !== entries[o.i]);
            model.push({ e: entries[o.i]!, tick: Math.max(Math.ceil(o.dueMs / 20), doneTick + 1), seq: seq++ });
            wheel.at(entries[o.i]!, o.dueMs);
          } else if (o.kind === 'cancel') {
            model = model.filter((m) => m.e !== entries[o.i]);
            wheel.cancel(entries[o.i]!);
          } else {
            const nowTick = Math.floor(o.nowMs / 20);
            const got = names(wheel.due(o.nowMs));
            if (nowTick <= doneTick) {
              expect(got).to.deep.equal([]);
              continue;
            }
            const due = model.filter((m) => m.tick <= nowTick).sort((a, b) => a.tick - b.tick || a.seq - b.seq);
            model = model.filter((m) => m.tick > nowTick);
            doneTick = nowTick;
            expect(got).to.deep.equal(due.map((m) => m.e.name));
          }
          expect(wheel.size).to.equal(model.length);
        }
        for (const e of entries) if (!model.some((m) => m.e === e)) expect(e.wheelTick).to.equal(-1);
      }),
      { numRuns: 500 },
    );
  });

  it('says when the next tick boundary is', () => {
    const wheel = new TimerWheel(100);
    expect(wheel.nextTickMs(0)).to.equal(100);
    expect(wheel.nextTickMs(150)).to.equal(200);
  });

  it('refuses a tick that is not a positive number', () => {
    expect(() => new TimerWheel(0)).to.throw(RangeError, /tickMs/);
    expect(() => new TimerWheel(NaN)).to.throw(RangeError, /tickMs/);
  });
});
