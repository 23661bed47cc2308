import { expect } from 'chai';
import { collectGarbage, createCollector, findGc } from '../../../proxy/memory/full-gc.js';

describe('full GC after a burst', () => {
  it('finds a gc function on this runtime and collects', () => {
    expect(findGc()).to.be.a('function');
    expect(collectGarbage()).to.equal(true);
  });

  it('does nothing (and says so) where no gc can be had', () => {
    let looked = 0;
    const collect = createCollector(() => {
      looked++;
      return null;
    });
    expect([collect(), collect(), looked]).to.deep.equal([false, false, 1]);
  });

  it('calls the gc it found once per collection', () => {
    let calls = 0;
    const collect = createCollector(() => () => calls++);
    collect();
    collect();
    expect(calls).to.equal(2);
  });
});
