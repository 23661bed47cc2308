import { expect } from 'chai';
import { DirectionWindow, MemoryBudget } from '../../windowing/index.js';

describe('DirectionWindow', () => {
  it('pauses when the window fills and resumes at half', () => {
    const w = new DirectionWindow({ windowBytes: 1024 });
    expect(w.update(1023)).to.equal(null);
    expect(w.update(1024)).to.equal('pause');
    expect(w.isPaused).to.equal(true);
    expect(w.update(2048)).to.equal(null);
    expect(w.update(513)).to.equal(null);
    expect(w.update(512)).to.equal('resume');
    expect(w.isPaused).to.equal(false);
  });

  it('pauses when the sink says it is full even below the window, and resumes at the low mark', () => {
    const w = new DirectionWindow({ windowBytes: 1 << 20 });
    expect(w.update(16384, true)).to.equal('pause');
    expect(w.update(600_000)).to.equal(null);
    expect(w.update(0)).to.equal('resume');
  });

  it('with a window of 0 relies on the sink alone: pause on full, resume when empty', () => {
    const w = new DirectionWindow({ windowBytes: 0 });
    expect(w.update(1e9)).to.equal(null);
    expect(w.update(10, true)).to.equal('pause');
    expect(w.update(1)).to.equal(null);
    expect(w.update(0)).to.equal('resume');
  });

  it('answers each pause once across many cycles', () => {
    const w = new DirectionWindow({ windowBytes: 100, lowBytes: 10 });
    let pauses = 0;
    let resumes = 0;
    for (let i = 0; i < 50; i++) {
      for (const q of [50, 100, 150, 60, 10, 0]) {
        const a = w.update(q);
        if (a === 'pause') pauses++;
        if (a === 'resume') resumes++;
      }
    }
    expect([pauses, resumes]).to.deep.equal([50, 50]);
  });

  it('charges the budget with what it is told, and gives it all back on release', () => {
    const budget = new MemoryBudget({ budgetBytes: 1 << 20 });
    const w = new DirectionWindow({ windowBytes: 1024, budget });
    w.charge(300);
    w.charge(700);
    expect(budget.usedBytes).to.equal(700);
    w.release();
    expect(budget.usedBytes).to.equal(0);
  });

  it('shrinks with the budget: a fuller budget leaves less room and pauses earlier', () => {
    const budget = new MemoryBudget({ budgetBytes: 1 << 20, minWindowBytes: 1024 });
    const w = new DirectionWindow({ windowBytes: 64 * 1024, budget });
    expect(w.roomBytes(0, 65536)).to.equal(64 * 1024);
    budget.adjust(768 * 1024); // three quarters used elsewhere
    expect(w.roomBytes(0, 65536)).to.be.below(64 * 1024);
    expect(w.update(w.roomBytes(0, 65536))).to.equal('pause');
  });
});
