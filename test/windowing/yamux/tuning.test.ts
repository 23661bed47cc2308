import { expect } from 'chai';
import { isSlowDrain, smoothRtt, tuneWindow, type TuneInput } from '../../../windowing/index.js';

const KiB = 1024;
const MiB = 1024 * KiB;

describe('tuneWindow', () => {
  const base: TuneInput = {
    windowBytes: 256 * KiB,
    initialWindowBytes: 256 * KiB,
    maxWindowBytes: 16 * MiB,
    consumedBytes: 128 * KiB,
    elapsedMs: 0,
    rttMs: 50,
    memoryPressure: false,
    slowEpochsBefore: 0,
  };
  const slowAgain = { slowEpochsBefore: 1 };
  const cases: [string, Partial<TuneInput>, number][] = [
    ['half a window in 0 ms on a 50 ms rtt doubles', {}, 512 * KiB],
    ['half a window in 99 ms (just under two round trips) doubles', { elapsedMs: 99 }, 512 * KiB],
    ['half a window in exactly two round trips keeps it', { elapsedMs: 100 }, 256 * KiB],
    ['half a window in 500 ms (slow consumer) keeps it', { elapsedMs: 500 }, 256 * KiB],
    ['a grown window drained half in just under 8 round trips, again, keeps it', { windowBytes: 1 * MiB, consumedBytes: 512 * KiB, elapsedMs: 399, ...slowAgain }, 1 * MiB],
    ['a grown window drained half in 8 round trips (16 per window), a second time in a row, halves', { windowBytes: 1 * MiB, consumedBytes: 512 * KiB, elapsedMs: 400, ...slowAgain }, 512 * KiB],
    ['the same, the first time (this process may just not have had the CPU), keeps it', { windowBytes: 1 * MiB, consumedBytes: 512 * KiB, elapsedMs: 400 }, 1 * MiB],
    ['a grown window drained half in 16 round trips, again, halves twice', { windowBytes: 1 * MiB, consumedBytes: 512 * KiB, elapsedMs: 800, ...slowAgain }, 256 * KiB],
    ['8 MiB over 10 s (BDP 41 KiB) shrinks a 16 MiB window in one step to 512 KiB (under 16 BDP)', { windowBytes: 16 * MiB, consumedBytes: 8 * MiB, elapsedMs: 10_000, ...slowAgain }, 512 * KiB],
    ['a stall of a minute shrinks a 16 MiB window to the initial one, never below', { windowBytes: 16 * MiB, consumedBytes: 8 * MiB, elapsedMs: 60_000, ...slowAgain }, 256 * KiB],
    ['the shrink halves an odd window to whole bytes', { windowBytes: 1_000_001, initialWindowBytes: 300_000, consumedBytes: 500_000, elapsedMs: 10_000, ...slowAgain }, 300_000],
    ['a window just doubled, drained at the rate that doubled it (half in ~4 round trips), stays', { windowBytes: 512 * KiB, consumedBytes: 256 * KiB, elapsedMs: 198 }, 512 * KiB],
    ['no rtt measured yet never shrinks', { windowBytes: 1 * MiB, consumedBytes: 512 * KiB, elapsedMs: 10_000, rttMs: null, ...slowAgain }, 1 * MiB],
    ['a whole window in 199 ms doubles (4 rtt * consumed / window)', { consumedBytes: 256 * KiB, elapsedMs: 199 }, 512 * KiB],
    ['no rtt measured yet keeps it', { rttMs: null }, 256 * KiB],
    ['an rtt of 0 keeps it', { rttMs: 0 }, 256 * KiB],
    ['stops at the maximum', { windowBytes: 12 * MiB }, 16 * MiB],
    ['at the maximum stays', { windowBytes: 16 * MiB }, 16 * MiB],
    ['at the maximum, drained slowly twice in a row, shrinks', { windowBytes: 16 * MiB, consumedBytes: 8 * MiB, elapsedMs: 400, ...slowAgain }, 8 * MiB],
    ['memory pressure drops to the initial window', { windowBytes: 8 * MiB, memoryPressure: true }, 256 * KiB],
    ['memory pressure never grows', { memoryPressure: true }, 256 * KiB],
    ['nothing consumed keeps it', { consumedBytes: 0 }, 256 * KiB],
  ];
  for (const [what, input, want] of cases) {
    it(`${what}: ${want / KiB} KiB`, () => expect(tuneWindow({ ...base, ...input })).to.equal(want));
  }
});

describe('isSlowDrain', () => {
  const input: TuneInput = { windowBytes: 1 * MiB, initialWindowBytes: 256 * KiB, maxWindowBytes: 16 * MiB, consumedBytes: 512 * KiB, elapsedMs: 400, rttMs: 50, memoryPressure: false, slowEpochsBefore: 0 };
  it('is true for half a grown window in 8 round trips or more, false under that, at the initial window, or with nothing to judge by', () => {
    expect(isSlowDrain(input)).to.equal(true);
    expect(isSlowDrain({ ...input, elapsedMs: 399 })).to.equal(false);
    expect(isSlowDrain({ ...input, windowBytes: 256 * KiB, consumedBytes: 128 * KiB, elapsedMs: 10_000 })).to.equal(false);
    expect(isSlowDrain({ ...input, rttMs: null })).to.equal(false);
    expect(isSlowDrain({ ...input, consumedBytes: 0 })).to.equal(false);
  });
});

describe('smoothRtt', () => {
  it('takes the first sample as is, then averages half and half', () => {
    expect(smoothRtt(null, 40)).to.equal(40);
    expect(smoothRtt(40, 60)).to.equal(50);
  });

  it('takes a lower sample at once: a first ping answered by a process still starting up does not stand', () => {
    expect(smoothRtt(10, 0.3)).to.equal(0.3);
    expect(smoothRtt(0.3, 0.5)).to.equal(0.4);
  });

  it('only averages in a sample of 0 (a clock too coarse to see the round trip)', () => {
    expect(smoothRtt(50, 0)).to.equal(25);
  });
});
