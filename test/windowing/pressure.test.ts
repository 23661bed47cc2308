import { expect } from 'chai';
import fc from 'fast-check';
import {
  computePressure,
  describePressure,
  DEFAULT_EVENT_LOOP_DELAY_TARGET_MS,
  DEFAULT_SHED_AT,
  HeldBackWindow,
  PressureSignals,
  type PressureInputs,
} from '../../windowing/index.js';

const MiB = 1024 * 1024;
const calm: PressureInputs = {
  heldBackShare: 0,
  bufferedBytes: 0,
  memoryBudgetBytes: 256 * MiB,
  eventLoopDelayMs: 0,
  eventLoopDelayTargetMs: 100,
  concurrencyInUse: 0,
  concurrencyLimit: 0,
};

describe('pressure', () => {
  describe('computePressure', () => {
    it('defaults: event-loop target 100 ms, shed at 0.8', () => {
      expect([DEFAULT_EVENT_LOOP_DELAY_TARGET_MS, DEFAULT_SHED_AT]).to.deep.equal([100, 0.8]);
    });

    const rows: [string, Partial<PressureInputs>, number, string][] = [
      ['an idle instance', {}, 0, 'heldBack'],
      ['all connections held back', { heldBackShare: 1 }, 1, 'heldBack'],
      ['a quarter held back', { heldBackShare: 0.25 }, 0.25, 'heldBack'],
      ['half the memory budget buffered', { bufferedBytes: 128 * MiB }, 0.5, 'memory'],
      ['the memory budget full', { bufferedBytes: 256 * MiB }, 1, 'memory'],
      ['more than the budget (cannot happen, clamped)', { bufferedBytes: 1024 * MiB }, 1, 'memory'],
      ['event loop 50 ms late of 100', { eventLoopDelayMs: 50 }, 0.5, 'eventLoop'],
      ['event loop 3 s late', { eventLoopDelayMs: 3000 }, 1, 'eventLoop'],
      ['9 of 10 concurrency slots in use', { concurrencyInUse: 9, concurrencyLimit: 10 }, 0.9, 'concurrency'],
      ['no concurrency limit', { concurrencyInUse: 5000, concurrencyLimit: 0 }, 0, 'heldBack'],
      ['the largest component wins', { heldBackShare: 0.3, bufferedBytes: 64 * MiB, eventLoopDelayMs: 70, concurrencyInUse: 1, concurrencyLimit: 10 }, 0.7, 'eventLoop'],
      ['a full budget is not averaged away by idle components', { bufferedBytes: 256 * MiB, concurrencyLimit: 10 }, 1, 'memory'],
      ['NaN and negative inputs count as no pressure', { heldBackShare: NaN, eventLoopDelayMs: -5 }, 0, 'heldBack'],
      ['a zero budget or target disables that component', { memoryBudgetBytes: 0, bufferedBytes: 10, eventLoopDelayTargetMs: 0, eventLoopDelayMs: 10 }, 0, 'heldBack'],
    ];
    for (const [title, inputs, want, dominant] of rows) {
      it(`${title}: ${want} (${dominant})`, () => {
        const r = computePressure({ ...calm, ...inputs });
        expect(r.pressure).to.be.closeTo(want, 1e-12);
        expect(r.dominant).to.equal(dominant);
      });
    }

    it('is always within 0..1 and equal to the largest component (seed 5)', () => {
      fc.assert(
        fc.property(
          fc.record({
            heldBackShare: fc.double({ min: -1, max: 2 }),
            bufferedBytes: fc.nat(),
            memoryBudgetBytes: fc.nat(),
            eventLoopDelayMs: fc.double({ min: 0, max: 1e5, noNaN: true }),
            eventLoopDelayTargetMs: fc.double({ min: 0, max: 1e3, noNaN: true }),
            concurrencyInUse: fc.nat(),
            concurrencyLimit: fc.nat(),
          }),
          (inputs) => {
            const r = computePressure(inputs);
            expect(r.pressure).to.be.within(0, 1);
            expect(r.pressure).to.equal(Math.max(...Object.values(r.components)));
            expect(r.components[r.dominant]).to.equal(r.pressure);
          },
        ),
        { seed: 5, numRuns: 500 },
      );
    });

    it('describes every component for /healthz and logs', () => {
      const r = computePressure({ ...calm, heldBackShare: 0.97, bufferedBytes: 2.56 * MiB, eventLoopDelayMs: 5, concurrencyInUse: 1, concurrencyLimit: 4 });
      expect(describePressure(r)).to.equal('pressure=0.97 held-back=0.97 memory=0.01 event-loop=0.05 concurrency=0.25');
    });
  });

  describe('HeldBackWindow', () => {
    it('is the time-weighted share of held-back connections over the window', () => {
      const w = new HeldBackWindow({ windowMs: 1000, bucketMs: 100 });
      for (let t = 0; t < 1000; t += 100) w.record(t, t < 500 ? 0 : 4, 4);
      expect(w.share(900)).to.equal(0.5);
    });

    it('forgets samples older than the window, exactly at its edge', () => {
      const w = new HeldBackWindow({ windowMs: 1000, bucketMs: 100 });
      w.record(0, 10, 10);
      w.record(500, 0, 10);
      expect(w.share(999)).to.equal(0.5);
      expect(w.share(1000)).to.equal(0); // the bucket of t=0 has left the window
      expect(w.share(1599)).to.equal(0);
      expect(w.share(1600)).to.equal(0); // nothing left: no connections, no pressure
    });

    it('reuses a bucket after a full turn of the ring without mixing old counts in', () => {
      const w = new HeldBackWindow({ windowMs: 300, bucketMs: 100 });
      w.record(0, 5, 5);
      w.record(300, 0, 5); // same ring slot as t=0
      expect(w.share(300)).to.equal(0);
    });

    it('sums several samples in one bucket', () => {
      const w = new HeldBackWindow();
      w.record(10, 1, 2);
      w.record(20, 2, 2);
      expect(w.share(30)).to.equal(0.75);
      expect([w.windowMs, w.bucketMs]).to.deep.equal([2000, 100]);
    });

    it('rejects impossible samples and options', () => {
      const w = new HeldBackWindow();
      expect(() => w.record(0, 3, 2)).to.throw(RangeError, /heldBack <= total/);
      expect(() => w.record(0, -1, 2)).to.throw(RangeError);
      expect(() => new HeldBackWindow({ bucketMs: 0 })).to.throw(RangeError, /bucketMs/);
      expect(() => new HeldBackWindow({ windowMs: 50, bucketMs: 100 })).to.throw(RangeError, /windowMs/);
    });
  });

  describe('PressureSignals', () => {
    it('healthz: 503 with Retry-After from shedAt, 200 again only at clearAt (no flapping)', () => {
      const s = new PressureSignals({ shedAt: 0.8 });
      const trace = [0.5, 0.79, 0.8, 0.75, 0.71, 0.7, 0.79, 0.8].map((p) => s.update(p).health().ok);
      expect(trace).to.deep.equal([true, true, false, false, false, true, true, false]);
      expect(s.update(0.9).health()).to.deep.equal({ ok: false, retryAfterS: 1, detail: 'pressure=0.90' });
    });

    it('healthz detail carries the components when given a reading', () => {
      const s = new PressureSignals();
      s.update(computePressure({ ...calm, heldBackShare: 0.9 }));
      expect(s.health()).to.deep.equal({ ok: false, retryAfterS: 1, detail: 'pressure=0.90 held-back=0.90 memory=0.00 event-loop=0.00 concurrency=0.00' });
    });

    const weights: [number, string][] = [
      [0, 'up ready 100%\n'],
      [0.3, 'up ready 100%\n'],
      [0.5, 'up ready 100%\n'],
      [0.51, 'up ready 98%\n'],
      [0.725, 'up ready 51%\n'],
      [0.8, 'up ready 34%\n'],
      [0.9, 'up ready 12%\n'],
      [0.949, 'up ready 1%\n'],
    ];
    for (const [p, line] of weights) {
      it(`agent: at pressure ${p} replies ${JSON.stringify(line)}`, () => {
        expect(new PressureSignals().update(p).agentReply()).to.equal(line);
      });
    }

    it('agent: drain at saturation, held until pressure clears, then up with a weight again', () => {
      const s = new PressureSignals();
      const replies = [0.2, 0.95, 1, 0.9, 0.71, 0.7, 0.6].map((p) => s.update(p).agentReply());
      expect(replies).to.deep.equal(['up ready 100%\n', 'drain\n', 'drain\n', 'drain\n', 'drain\n', 'up ready 56%\n', 'up ready 78%\n']);
    });

    it('agent weight never rises as pressure rises (seed 9)', () => {
      fc.assert(
        fc.property(fc.double({ min: 0, max: 0.94, noNaN: true }), fc.double({ min: 0, max: 0.94, noNaN: true }), (a, b) => {
          const [lo, hi] = a <= b ? [a, b] : [b, a];
          expect(new PressureSignals().update(hi).weightPercent()).to.be.at.most(new PressureSignals().update(lo).weightPercent());
        }),
        { seed: 9, numRuns: 300 },
      );
    });

    it('every reply is one line HAProxy parses: words, a single trailing newline', () => {
      const s = new PressureSignals();
      for (let p = 0; p <= 1; p += 0.01) {
        const line = s.update(p).agentReply();
        expect(line).to.match(/^(drain|up ready (100|[1-9]?[0-9])%)\n$/);
      }
    });

    it('rejects inconsistent thresholds naming the option', () => {
      expect(() => new PressureSignals({ shedAt: 0 })).to.throw(RangeError, /shedAt/);
      expect(() => new PressureSignals({ shedAt: 0.8, clearAt: 0.8 })).to.throw(RangeError, /clearAt/);
      expect(() => new PressureSignals({ clearAt: 0.5, drainAt: 0.5 })).to.throw(RangeError, /drainAt/);
      expect(() => new PressureSignals({ fullWeightBelow: 0.99 })).to.throw(RangeError, /fullWeightBelow/);
      expect(() => new PressureSignals({ retryAfterS: 0 })).to.throw(RangeError, /retryAfterS/);
    });
  });
});
