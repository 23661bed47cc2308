import { expect } from 'chai';
import { Watermark, type Crossing } from '../../windowing/index.js';

function run(mark: Watermark, counts: number[]): (Crossing | null)[] {
  return counts.map((n) => mark.update(n));
}

describe('Watermark', () => {
  it('defaults the low mark to half the high one', () => {
    expect(new Watermark(100).lowBytes).to.equal(50);
    expect(new Watermark(7).lowBytes).to.equal(3);
  });

  const cases: { high: number; low?: number; counts: number[]; want: (Crossing | null)[] }[] = [
    { high: 100, counts: [0, 99], want: [null, null] },
    { high: 100, counts: [100], want: ['above-high'] },
    { high: 100, counts: [101, 150, 100, 51], want: ['above-high', null, null, null] },
    { high: 100, counts: [100, 50], want: ['above-high', 'below-low'] },
    { high: 100, counts: [100, 51, 50, 49, 0], want: ['above-high', null, 'below-low', null, null] },
    { high: 100, counts: [100, 0, 100, 0], want: ['above-high', 'below-low', 'above-high', 'below-low'] },
    { high: 100, low: 90, counts: [100, 91, 90], want: ['above-high', null, 'below-low'] },
    { high: 100, low: 0, counts: [100, 1, 0], want: ['above-high', null, 'below-low'] },
    { high: 0, counts: [0, 1, 0xffffffff, 0], want: [null, null, null, null] },
    { high: 0xffffffff, counts: [0xfffffffe, 0xffffffff, 0x7fffffff], want: [null, 'above-high', 'below-low'] },
  ];
  for (const c of cases) {
    it(`high=${c.high} low=${c.low ?? 'default'}: ${c.counts.join(' -> ')} reports ${c.want.map(String).join(', ')}`, () => {
      const mark = new Watermark(c.high, c.low);
      expect(run(mark, c.counts)).to.deep.equal(c.want);
    });
  }

  it('fires each crossing once however long the count stays past it', () => {
    const mark = new Watermark(1000);
    const reports = run(mark, Array.from({ length: 500 }, (_, i) => 1000 + i));
    expect(reports.filter((r) => r === 'above-high')).to.have.length(1);
    expect(mark.isAboveHigh).to.equal(true);
  });

  const bad: [number, number | undefined, RegExp][] = [
    [-1, undefined, /highBytes/],
    [1.5, undefined, /highBytes/],
    [100, 100, /lowBytes .*below highBytes \(100\)/],
    [100, -1, /lowBytes/],
  ];
  for (const [high, low, message] of bad) {
    it(`rejects high=${high} low=${low} with a message naming the field`, () => {
      expect(() => new Watermark(high, low)).to.throw(RangeError, message);
    });
  }
});
