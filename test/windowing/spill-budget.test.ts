import { expect } from 'chai';
import { SpillBudget } from '../../windowing/index.js';

describe('SpillBudget', () => {
  it('takes reservations up to the limit exactly, refuses one byte past it, and counts refusals', () => {
    const b = new SpillBudget(100);
    expect(b.tryReserve(60)).to.equal(true);
    expect(b.fits(40)).to.equal(true);
    expect(b.fits(41)).to.equal(false);
    expect(b.tryReserve(41)).to.equal(false);
    expect(b.refusals).to.equal(1);
    expect(b.tryReserve(40)).to.equal(true);
    expect(b.usedBytes).to.equal(100);
    expect(b.freeBytes).to.equal(0);
    expect(b.tryReserve(0)).to.equal(true);
    expect(b.tryReserve(1)).to.equal(false);
    expect(b.refusals).to.equal(2);
  });

  it('frees what is released; the total only grows', () => {
    const b = new SpillBudget(10);
    b.tryReserve(10);
    b.release(4);
    expect(b.usedBytes).to.equal(6);
    expect(b.tryReserve(4)).to.equal(true);
    expect(b.totalBytes).to.equal(14);
  });

  it('with a limit of 0 refuses everything but nothing', () => {
    const b = new SpillBudget(0);
    expect(b.tryReserve(1)).to.equal(false);
    expect(b.tryReserve(0)).to.equal(true);
  });

  it('rejects bad sizes and over-release, naming the bound', () => {
    expect(() => new SpillBudget(-1)).to.throw(RangeError, /maxBytes must be a whole number >= 0, got -1/);
    expect(() => new SpillBudget(1.5)).to.throw(RangeError, /maxBytes/);
    const b = new SpillBudget(10);
    expect(() => b.tryReserve(-1)).to.throw(RangeError, /bytes must be a whole number >= 0, got -1/);
    b.tryReserve(3);
    expect(() => b.release(4)).to.throw(RangeError, /release: bytes must be a whole number from 0 to 3, got 4/);
  });
});
