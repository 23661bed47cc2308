import { expect } from 'chai';
import { smoothRtt, tuneWindow, type TuneInput } from '../../../windowing/index.js';

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
  };
  const cases: [string, Partial<TuneInput>, number][] = [
    ['half a window in 0 ms on a 50 ms rtt doubles', {}, 512 * KiB],
    ['half a window in 99 ms (just under two round trips) doubles', { elapsedMs: 99 }, 512 * KiB],
    ['half a window in exactly two round trips keeps it', { elapsedMs: 100 }, 256 * KiB],
    ['half a window in 500 ms (slow consumer) keeps it', { elapsedMs: 500 }, 256 * KiB],
    ['a whole window in 199 ms doubles (4 rtt * consumed / window)', { consumedBytes: 256 * KiB, elapsedMs: 199 }, 512 * KiB],
    ['no rtt measured yet keeps it', { rttMs: null }, 256 * KiB],
    ['an rtt of 0 keeps it', { rttMs: 0 }, 256 * KiB],
    ['stops at the maximum', { windowBytes: 12 * MiB }, 16 * MiB],
    ['at the maximum stays', { windowBytes: 16 * MiB }, 16 * MiB],
    ['memory pressure drops to the initial window', { windowBytes: 8 * MiB, memoryPressure: true }, 256 * KiB],
    ['memory pressure never grows', { memoryPressure: true }, 256 * KiB],
    ['nothing consumed keeps it', { consumedBytes: 0 }, 256 * KiB],
  ];
  for (const [what, input, want] of cases) {
    it(`${what}: ${want / KiB} KiB`, () => expect(tuneWindow({ ...base, ...input })).to.equal(want));
  }
});

describe('smoothRtt', () => {
  it('takes the first sample as is, then averages half and half', () => {
    expect(smoothRtt(null, 40)).to.equal(40);
    expect(smoothRtt(40, 60)).to.equal(50);
    expect(smoothRtt(50, 0)).to.equal(25);
  });
});
