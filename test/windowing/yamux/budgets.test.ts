import { expect } from 'chai';
import { ControlReplyBudget, EmptyFrameBudget, ResetBucket, WindowUpdateBudget } from '../../../windowing/index.js';

describe('EmptyFrameBudget', () => {
  it('with a budget of 1: one empty frame passes, a second in a row is a flood', () => {
    const b = new EmptyFrameBudget(1);
    expect([b.record(true), b.record(false), b.record(true), b.record(true)]).to.deep.equal([false, false, false, true]);
  });

  it('with a budget of 3: exactly 3 in a row pass, the 4th trips', () => {
    const b = new EmptyFrameBudget(3);
    expect([true, true, true, true].map((e) => b.record(e))).to.deep.equal([false, false, false, true]);
  });

  it('with a budget of 0: the first empty frame trips', () => {
    expect(new EmptyFrameBudget(0).record(true)).to.equal(true);
  });
});

describe('WindowUpdateBudget', () => {
  it('allows 5 + 2 * (streams + 10 * data frames): exactly at the limit passes, one past trips', () => {
    const b = new WindowUpdateBudget(10);
    b.streamOpened();
    b.dataFrameSent();
    expect(b.allowed).to.equal(5 + 2 * (1 + 10));
    const results = Array.from({ length: 28 }, () => b.record());
    expect(results.filter((r) => r)).to.have.length(1);
    expect(results.indexOf(true)).to.equal(27);
  });
});

describe('ResetBucket', () => {
  it('allows the burst at one instant and refuses the next', () => {
    const b = new ResetBucket(5, 1);
    const results = Array.from({ length: 6 }, () => b.take(0));
    expect(results).to.deep.equal([false, false, false, false, false, true]);
  });

  it('refills at the rate: 1 token per second at 1/s, capped at the burst', () => {
    const b = new ResetBucket(2, 1);
    expect([b.take(0), b.take(0), b.take(0)]).to.deep.equal([false, false, true]);
    expect(b.take(999)).to.equal(true);
    expect(b.take(1000)).to.equal(false);
    expect(b.take(1000)).to.equal(true);
    expect([b.take(100_000), b.take(100_000), b.take(100_000)]).to.deep.equal([false, false, true]);
  });

  it('ignores time going backwards', () => {
    const b = new ResetBucket(1, 1000);
    expect(b.take(10)).to.equal(false);
    expect(b.take(5)).to.equal(true);
  });
});

describe('ControlReplyBudget', () => {
  it('queues exactly the cap, refuses one more, and frees slots when flushed', () => {
    const b = new ControlReplyBudget(3);
    expect([b.queue(), b.queue(), b.queue(), b.queue()]).to.deep.equal([false, false, false, true]);
    expect(b.pending).to.equal(3);
    b.flushed(2);
    expect(b.pending).to.equal(1);
    expect([b.queue(), b.queue(), b.queue()]).to.deep.equal([false, false, true]);
    b.flushed(10);
    expect(b.pending).to.equal(0);
  });
});
