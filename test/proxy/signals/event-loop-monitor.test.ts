import { expect } from 'chai';
import { EventLoopMonitor, sharedLoopDelay, type DelayHistogram } from '../../../proxy/signals/event-loop-monitor.js';
import { until } from '../../helpers/sockets.js';

/** A histogram whose recorded values the test sets. */
class FakeHistogram implements DelayHistogram {
  values: number[] = [];
  enabled = false;
  resets = 0;
  enable(): boolean {
    const was = this.enabled;
    this.enabled = true;
    return !was;
  }
  disable(): boolean {
    const was = this.enabled;
    this.enabled = false;
    return was;
  }
  reset(): void {
    this.values = [];
    this.resets++;
  }
  percentile(p: number): number {
    const sorted = [...this.values].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
  }
  get max(): number {
    return Math.max(0, ...this.values);
  }
  get mean(): number {
    return this.values.reduce((s, v) => s + v, 0) / this.values.length;
  }
  get count(): number {
    return this.values.length;
  }
}

const ms = (x: number) => x * 1e6;

describe('EventLoopMonitor', () => {
  const monitors: EventLoopMonitor[] = [];
  afterEach(() => monitors.splice(0).forEach((m) => m.close()));

  function withFake(resolutionMs = 10): { monitor: EventLoopMonitor; fake: FakeHistogram } {
    const fake = new FakeHistogram();
    const monitor = new EventLoopMonitor({ resolutionMs, histogram: () => fake });
    monitors.push(monitor);
    return { monitor, fake };
  }

  it('reports time between ticks minus the resolution, in ms, then starts a new interval', () => {
    const { monitor, fake } = withFake(10);
    expect(fake.enabled).to.equal(true);
    fake.values = [ms(10), ms(10.5), ms(11), ms(60)];
    expect(monitor.read()).to.deep.equal({ p99Ms: 50, maxMs: 50, meanMs: 12.875, samples: 4 });
    expect(fake.resets).to.equal(1);
    expect(monitor.read()).to.deep.equal({ p99Ms: 0, maxMs: 0, meanMs: 0, samples: 0 });
  });

  it('never reports a negative delay (a tick slightly early)', () => {
    const { monitor, fake } = withFake(10);
    fake.values = [ms(9.9)];
    expect(monitor.read().p99Ms).to.equal(0);
  });

  it('close() disables sampling, is idempotent, and later reads are zeros', () => {
    const { monitor, fake } = withFake();
    fake.values = [ms(20)];
    monitor.close();
    monitor.close();
    expect([fake.enabled, monitor.isOpen, monitor.sampleCount]).to.deep.equal([false, false, 0]);
    expect(monitor.read().samples).to.equal(0);
  });

  it('rejects a bad resolution', () => {
    expect(() => new EventLoopMonitor({ resolutionMs: 0 })).to.throw(RangeError, /resolutionMs/);
  });

  it('sees a real 60 ms stall of the event loop (Node histogram)', async () => {
    const monitor = new EventLoopMonitor({ resolutionMs: 10 });
    monitors.push(monitor);
    await until(() => monitor.sampleCount >= 1, 'the first measured tick');
    const start = performance.now();
    while (performance.now() - start < 60) {
      // hold the loop
    }
    const before = monitor.sampleCount;
    await until(() => monitor.sampleCount > before, 'the tick after the stall');
    // The tick gap spans the whole stall, so it is at least 60 ms; minus the 10 ms resolution.
    expect(monitor.read().maxMs).to.be.at.least(50);
  });
});

describe('sharedLoopDelay: one monitor for the process', () => {
  it('every reader shares one monitor (made once, closed with the last reader); a read within the interval gets the figures of the last one', () => {
    let made = 0;
    const fake = new FakeHistogram();
    const make = () => (made++, new EventLoopMonitor({ resolutionMs: 10, histogram: () => fake }));
    let t = 0;
    const readers = [sharedLoopDelay(50, () => t, make), sharedLoopDelay(50, () => t, make), sharedLoopDelay(50, () => t, make)];
    expect([made, fake.enabled]).to.deep.equal([1, true]);
    fake.values = [ms(40)];
    expect(readers[0]!.read().p99Ms).to.equal(30);
    fake.values = [ms(90)];
    t = 20; // within the interval: the same figures, the histogram left alone
    expect(readers[1]!.read().p99Ms).to.equal(30);
    t = 60;
    expect(readers[2]!.read().p99Ms).to.equal(80);
    readers[0]!.release();
    readers[0]!.release(); // idempotent: counts once
    readers[1]!.release();
    expect(fake.enabled).to.equal(true);
    readers[2]!.release();
    expect(fake.enabled).to.equal(false);
    const again = sharedLoopDelay(50, () => t, make);
    expect(made).to.equal(2);
    again.release();
  });
});
