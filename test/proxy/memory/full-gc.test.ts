import { expect } from 'chai';
import vm from 'node:vm';
import { collectGarbage, createCollector, findGc } from '../../../proxy/memory/full-gc.js';

describe('full GC after a burst', () => {
  it('finds a gc function on this runtime and collects', () => {
    expect(findGc()).to.be.a('function');
    expect(collectGarbage()).to.equal(true);
  });

  it('leaves no gc in the contexts made after it looked (unless the process was started with --expose-gc)', function () {
    if (typeof (globalThis as { gc?: unknown }).gc === 'function') this.skip();
    findGc();
    expect(vm.runInNewContext('typeof gc')).to.equal('undefined');
  });

  it('a gc that throws is a no-op from then on, never an exception', () => {
    let calls = 0;
    const collect = createCollector(() => () => {
      calls++;
      throw new Error('no gc here');
    });
    expect([collect(), collect(), calls]).to.deep.equal([false, false, 1]);
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
