import { expect } from 'chai';
import { Admission } from '../../windowing/index.js';

describe('Admission', () => {
  it('admits up to the limit, queues up to the queue bound, rejects past it', () => {
    const a = new Admission<string>({ maxActive: 2, maxQueued: 1 });
    expect(['a', 'b', 'c', 'd'].map((x) => a.arrive(x))).to.deep.equal(['admit', 'admit', 'queue', 'reject']);
    expect([a.active, a.queued]).to.deep.equal([2, 1]);
  });

  it('hands a freed slot to the oldest waiter, first come first served', () => {
    const a = new Admission<string>({ maxActive: 1, maxQueued: 10 });
    a.arrive('a');
    a.arrive('b');
    a.arrive('c');
    expect(a.release()).to.deep.equal(['b']);
    expect(a.release()).to.deep.equal(['c']);
    expect(a.release()).to.deep.equal([]);
    expect(a.active).to.equal(0);
  });

  it('lets a waiter leave from anywhere in the line', () => {
    const a = new Admission<string>({ maxActive: 1, maxQueued: 10 });
    for (const x of ['a', 'b', 'c', 'd']) a.arrive(x);
    expect(a.leave('c')).to.equal(true);
    expect(a.leave('c')).to.equal(false);
    expect(a.leave('a')).to.equal(false); // 'a' holds a slot, it is not waiting
    expect([a.release(), a.release(), a.release()]).to.deep.equal([['b'], ['d'], []]);
  });

  it('never lets a newcomer jump the line while others wait', () => {
    const a = new Admission<string>({ maxActive: 1, maxQueued: 10 });
    a.arrive('a');
    a.arrive('b');
    a.setLimit(1);
    expect(a.arrive('c')).to.equal('queue');
  });

  it('with a limit of 0 admits everyone', () => {
    const a = new Admission<number>({ maxActive: 0, maxQueued: 0 });
    for (let i = 0; i < 10_000; i++) expect(a.arrive(i)).to.equal('admit');
    expect(a.active).to.equal(10_000);
  });

  it('a raised limit admits waiters at once; a lowered one waits for connections to finish', () => {
    const a = new Admission<string>({ maxActive: 1, maxQueued: 10 });
    for (const x of ['a', 'b', 'c', 'd']) a.arrive(x);
    expect(a.setLimit(3)).to.deep.equal(['b', 'c']);
    expect(a.setLimit(1)).to.deep.equal([]);
    expect(a.active).to.equal(3);
    expect(a.release()).to.deep.equal([]);
    expect(a.release()).to.deep.equal([]);
    expect(a.release()).to.deep.equal(['d']);
  });

  it('rejects a bad limit naming the field', () => {
    expect(() => new Admission({ maxActive: -1, maxQueued: 0 })).to.throw(RangeError, /maxActive/);
    expect(() => new Admission({ maxActive: 1, maxQueued: 1.5 })).to.throw(RangeError, /maxQueued/);
  });
});
