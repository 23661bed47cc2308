import { expect } from 'chai';
import { DirectionWindow } from '../../windowing/index.js';

describe('DirectionWindow', () => {
  it('pauses when the window fills and resumes at half, counting held-back time', () => {
    const w = new DirectionWindow({ windowBytes: 1024 });
    expect(w.update(1023, 0)).to.equal(null);
    expect(w.update(1024, 10)).to.equal('pause');
    expect(w.isPaused).to.equal(true);
    expect(w.update(2048, 20)).to.equal(null);
    expect(w.update(513, 30)).to.equal(null);
    expect(w.heldBackMs(35)).to.equal(25);
    expect(w.update(512, 40)).to.equal('resume');
    expect(w.isPaused).to.equal(false);
    expect(w.heldBackMs(1000)).to.equal(30);
    expect(w.pauses).to.equal(1);
  });

  it('pauses when the sink says it is full even below the window, and resumes at the low mark', () => {
    const w = new DirectionWindow({ windowBytes: 1 << 20 });
    expect(w.update(16384, 0, true)).to.equal('pause');
    expect(w.update(600_000, 1)).to.equal(null);
    expect(w.update(0, 5)).to.equal('resume');
    expect(w.pauses).to.equal(1);
    expect(w.heldBackMs(5)).to.equal(5);
  });

  it('with a window of 0 relies on the sink alone: pause on full, resume when empty', () => {
    const w = new DirectionWindow({ windowBytes: 0 });
    expect(w.update(1e9, 0)).to.equal(null);
    expect(w.update(10, 0, true)).to.equal('pause');
    expect(w.update(1, 1)).to.equal(null);
    expect(w.update(0, 2)).to.equal('resume');
  });

  it('counts every pause once across many cycles', () => {
    const w = new DirectionWindow({ windowBytes: 100, lowBytes: 10 });
    let pauses = 0;
    let resumes = 0;
    for (let i = 0; i < 50; i++) {
      for (const q of [50, 100, 150, 60, 10, 0]) {
        const a = w.update(q, i);
        if (a === 'pause') pauses++;
        if (a === 'resume') resumes++;
      }
    }
    expect([pauses, resumes, w.pauses]).to.deep.equal([50, 50, 50]);
  });
});
