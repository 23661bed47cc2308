import { expect } from 'chai';
import { AdaptiveLimit, type AdaptiveLimitOptions } from '../../windowing/index.js';

/**
 * A simulated target: `capacity` connections are served at `baseMs` per window drained; more
 * than that queue, so latency grows in proportion (latency = base * max(1, inflight/capacity)).
 * Demand always exceeds the limit, so inflight = limit. One drain sample every 100 ms.
 */
class SimulatedTarget {
  nowMs = 0;
  constructor(
    readonly limiter: AdaptiveLimit,
    public baseMs: number,
    public capacity: number,
    readonly demand = 500,
  ) {}

  runFor(ms: number): number[] {
    const limits: number[] = [];
    for (const end = this.nowMs + ms; this.nowMs < end; ) {
      this.nowMs += 100;
      const inflight = Math.min(this.limiter.limit, this.demand);
      const latency = this.baseMs * Math.max(1, inflight / this.capacity);
      const update = this.limiter.sample('drain', latency, inflight, this.nowMs);
      if (update) limits.push(update.limit);
    }
    return limits;
  }
}

describe('AdaptiveLimit (Gradient2)', () => {
  const make = (options: AdaptiveLimitOptions = {}) => new AdaptiveLimit(options);

  it('starts at the initial limit with Netflix/Envoy defaults', () => {
    const a = make();
    expect([a.limit, a.minLimit, a.maxLimit]).to.deep.equal([20, 3, 1000]);
  });

  it('closes a window only after windowMs, once per window', () => {
    const a = make();
    expect(a.sample('drain', 10, 20, 0)).to.equal(null);
    expect(a.sample('drain', 10, 20, 999)).to.equal(null);
    const u = a.sample('drain', 10, 20, 1000);
    expect(u).to.not.equal(null);
    expect(a.windows).to.equal(1);
    expect(a.tick(2500)).to.equal(null); // no samples since: nothing to close
    expect(a.sample('drain', 10, 20, 2000)).to.not.equal(null); // back-to-back windows: 1000..2000
    expect(a.sample('drain', 10, 20, 9000)).to.equal(null); // after a quiet spell, a fresh window
    expect(a.sample('drain', 10, 20, 9999)).to.equal(null);
    expect(a.sample('drain', 10, 20, 10_000)).to.not.equal(null);
    expect(a.windows).to.equal(3);
  });

  it('tick closes a due window without a new sample', () => {
    const a = make();
    a.sample('drain', 10, 20, 0);
    expect(a.tick(999)).to.equal(null);
    expect(a.tick(1000)).to.deep.include({ previous: 20 });
  });

  it('keeps the limit while app-limited (inflight under half the limit)', () => {
    const a = make({ initialLimit: 20 });
    a.sample('drain', 10, 9, 0);
    expect(a.sample('drain', 500, 9, 1000)).to.deep.equal({ limit: 20, previous: 20, gradient: null });
  });

  it('at steady latency grows by smoothing x queueSize per busy window (constant queueSize)', () => {
    const a = make({ initialLimit: 20, smoothing: 0.2, queueSize: 4 });
    a.sample('drain', 10, 20, 0);
    const u = a.sample('drain', 10, 20, 1000)!;
    // gradient 1: 20*0.8 + (20*1 + 4)*0.2 = 20.8
    expect(u).to.deep.equal({ limit: 20, previous: 20, gradient: 1 });
    expect(a.sample('drain', 10, 20, 2000)!.limit).to.equal(21); // 20.8 -> 21.6
  });

  it('never cuts more than the gradient floor of 0.5 allows in one window', () => {
    const a = make({ initialLimit: 100, warmupWindows: 1 });
    a.sample('drain', 10, 100, 0);
    a.sample('drain', 10, 100, 1000); // baseline 10 ms
    const u = a.sample('drain', 10_000, 100, 2000)!;
    expect(u.gradient).to.equal(0.5);
    // first window: 100*0.8 + (100 + 10)*0.2 = 102; then 102*0.8 + (51 + sqrt(102))*0.2 = 93.82
    expect(u.limit).to.equal(93);
  });

  it('by default probes upward by sqrt(limit), and under any slowdown settles at 4', () => {
    // A very long baseline window keeps the baseline at 10 ms, so every window has gradient 0.5.
    const a = make({ initialLimit: 100, minLimit: 1, warmupWindows: 1, longWindow: 1e9 });
    a.sample('drain', 10, 100, 0);
    a.sample('drain', 10, 100, 1000);
    for (let t = 2000; t < 400_000; t += 1000) a.sample('drain', 1e6, 1000, t);
    expect(a.limit).to.equal(4);
  });

  it('stays within minLimit and maxLimit', () => {
    const low = make({ initialLimit: 5, minLimit: 5, maxLimit: 6, warmupWindows: 1 });
    low.sample('drain', 1, 5, 0);
    low.sample('drain', 1, 5, 1000);
    for (let t = 2000; t < 60_000; t += 1000) low.sample('drain', 1000, 5, t);
    expect(low.limit).to.equal(5);
    const high = make({ initialLimit: 5, minLimit: 5, maxLimit: 6 });
    for (let t = 0; t < 60_000; t += 1000) high.sample('drain', 1, 6, t);
    expect(high.limit).to.equal(6);
  });

  it('falls when the target slows and recovers when it speeds up (simulated time)', () => {
    const a = make({ initialLimit: 20, minLimit: 3, maxLimit: 200 });
    const target = new SimulatedTarget(a, 10, 40);
    target.runFor(60_000);
    const healthy = a.limit;
    expect(healthy).to.be.greaterThan(20); // probed upward while the target kept up

    target.baseMs = 100; // the target slows tenfold
    target.runFor(30_000);
    const slowed = a.limit;
    expect(slowed).to.be.lessThan(healthy / 2);

    target.baseMs = 10; // and recovers
    target.runFor(60_000);
    expect(a.limit).to.be.greaterThan(slowed * 2);
  });

  it('falls when the target loses capacity (queueing, same base latency)', () => {
    const a = make({ initialLimit: 20, maxLimit: 200 });
    const target = new SimulatedTarget(a, 10, 40);
    target.runFor(60_000);
    const before = a.limit;
    target.capacity = 5;
    target.runFor(60_000);
    expect(a.limit).to.be.lessThan(before);
  });

  it('a slow kind pulls the limit down even while the other kind stays fast', () => {
    const a = make({ initialLimit: 50, warmupWindows: 1 });
    for (let t = 0; t <= 2000; t += 500) {
      a.sample('connect', 0.2, 50, t);
      a.sample('drain', 40, 50, t);
    }
    const before = a.limit;
    for (let t = 2500; t <= 10_000; t += 500) {
      a.sample('connect', 0.2, 50, t); // connects stay instant
      a.sample('drain', 400, 50, t); // but draining a window takes ten times longer
    }
    expect(a.limit).to.be.lessThan(before);
    expect(a.longLatencyMs('connect')).to.be.closeTo(0.2, 1e-9);
  });

  it('treats zero-latency samples as no queueing', () => {
    const a = make({ initialLimit: 10 });
    a.sample('connect', 0, 10, 0);
    expect(a.sample('connect', 0, 10, 1000)!.gradient).to.equal(1);
  });

  it('rejects bad options and samples naming the field', () => {
    expect(() => make({ minLimit: 0 })).to.throw(RangeError, /minLimit/);
    expect(() => make({ minLimit: 10, maxLimit: 5 })).to.throw(RangeError, /maxLimit/);
    expect(() => make({ initialLimit: 2000 })).to.throw(RangeError, /initialLimit/);
    expect(() => make({ smoothing: 0 })).to.throw(RangeError, /smoothing/);
    expect(() => make({ tolerance: 0.9 })).to.throw(RangeError, /tolerance/);
    expect(() => make({ queueSize: -1 })).to.throw(RangeError, /queueSize/);
    expect(() => make().sample('drain', NaN, 1, 0)).to.throw(RangeError, /latencyMs/);
  });
});
