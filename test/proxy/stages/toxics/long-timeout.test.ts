import { expect } from 'chai';
import sinon from 'sinon';
import type { Stage } from '../../../../proxy/pipeline/index.js';
import { LatencyStage, ResetPeerStage, SlicerStage, SlowCloseStage, StallStage, TimeoutStage } from '../../../../proxy/stages/toxics/index.js';
import { LongTimeout } from '../../../../proxy/stages/toxics/long-timeout.js';
import { MAX_TIMER_MS } from '../../../../windowing/timer-limit.js';
import { advance, TOXIC_FAKES, toxicDirection, type TimedSink, type ConnectionCalls } from '../../../helpers/toxics.js';
import type { Direction } from '../../../../proxy/pipeline/index.js';

// Past what setTimeout keeps (Node fires such a timer after 1 ms; sinon's fake timers do the same).
const HUGE_MS = 3_000_000_000;

describe('long toxic times (LongTimeout)', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => (clock = sinon.useFakeTimers(TOXIC_FAKES)));
  afterEach(() => clock.restore());

  for (const delayMs of [0, 1, MAX_TIMER_MS, MAX_TIMER_MS + 1, 2 * MAX_TIMER_MS + 5, HUGE_MS]) {
    it(`fires once, exactly ${delayMs} ms after start`, async () => {
      const fired: number[] = [];
      const timer = new LongTimeout(() => fired.push(clock.now));
      timer.start(delayMs);
      if (delayMs > 0) await clock.tickAsync(delayMs - 1);
      expect([fired, timer.armed]).to.deep.equal([[], true]);
      await clock.tickAsync(1);
      expect([fired, timer.armed, clock.countTimers()]).to.deep.equal([[delayMs], false, 0]);
    });
  }

  it('stopped between steps: never fires, no timer left', async () => {
    const fired: number[] = [];
    const timer = new LongTimeout(() => fired.push(clock.now));
    timer.start(HUGE_MS);
    await clock.tickAsync(MAX_TIMER_MS + 10);
    timer.stop();
    await clock.tickAsync(HUGE_MS);
    expect([fired, clock.countTimers()]).to.deep.equal([[], 0]);
  });

  // Each toxic with a time of HUGE_MS: its first timer turn is no sooner than setTimeout's limit
  // (no 1 ms firing, no 1 ms re-arming), and what it does happens exactly at HUGE_MS.
  const cases: { title: string; stage: () => Stage; act: (d: { direction: Direction; deliver: (b: Buffer | number) => void }) => void; when: (s: TimedSink, c: ConnectionCalls, d: Direction) => number | null }[] = [
    { title: 'slow_close delay', stage: () => new SlowCloseStage(HUGE_MS), act: ({ direction }) => direction.end(), when: (s) => s.endedAtMs },
    { title: 'timeout timeout', stage: () => new TimeoutStage(HUGE_MS), act: () => {}, when: (_s, c) => c.closes[0]?.atMs ?? null },
    { title: 'reset_peer timeout', stage: () => new ResetPeerStage(HUGE_MS), act: ({ deliver }) => deliver(1), when: (_s, c) => c.resets[0]?.atMs ?? null },
    { title: 'stall duration', stage: () => new StallStage(HUGE_MS), act: () => {}, when: (_s, _c, d) => (d.isHeld ? null : clock.now) },
    { title: 'latency latency', stage: () => new LatencyStage({ latencyMs: HUGE_MS, jitterMs: 0 }), act: ({ deliver }) => deliver(1), when: (s) => s.arrivals[0]?.atMs ?? null },
    {
      title: 'slicer delay (µs)',
      stage: () => new SlicerStage({ averageSize: 1, sizeVariation: 0, delayUs: HUGE_MS * 1000 }),
      act: ({ deliver }) => deliver(2),
      when: (s) => s.arrivals[1]?.atMs ?? null,
    },
  ];
  for (const { title, stage, act, when } of cases) {
    it(`${title} = ${HUGE_MS}: nothing early, done exactly then`, async () => {
      const { direction, deliver, sink, calls } = toxicDirection(clock, [stage()]);
      act({ direction, deliver });
      await advance(clock, 0);
      clock.next();
      expect(clock.now).to.be.at.least(MAX_TIMER_MS);
      await advance(clock, 0);
      expect(when(sink, calls, direction)).to.equal(null);
      await advance(clock, HUGE_MS - 1 - clock.now);
      expect(when(sink, calls, direction)).to.equal(null);
      await advance(clock, 1);
      expect(when(sink, calls, direction)).to.equal(HUGE_MS);
      direction.stop();
    });
  }
});
