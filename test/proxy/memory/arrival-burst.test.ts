import { expect } from 'chai';
import sinon from 'sinon';
import { ArrivalBurstCollector } from '../../../proxy/memory/arrival-burst.js';

const MiB = 1024 * 1024;

describe('after-burst GC for arriving connections', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => (clock = sinon.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] })));
  afterEach(() => clock.restore());

  /** A collector over a heap of `heap` bytes (changed by the test), counting collections. */
  function collector(): { bursts: ArrivalBurstCollector; heap: { bytes: number }; collected: () => number } {
    const heap = { bytes: 10 * MiB };
    let collected = 0;
    const bursts = new ArrivalBurstCollector(
      () => {
        collected++;
        heap.bytes = 12 * MiB; // what the collection gave back
      },
      { quietMs: 100, growthBytes: 16 * MiB, heapBytes: () => heap.bytes },
    );
    return { bursts, heap, collected: () => collected };
  }

  it('collects once the arrivals stop after the heap grew enough, and not while they go on', () => {
    const { bursts, heap, collected } = collector();
    for (let t = 0; t < 1000; t += 50) {
      bursts.arrived();
      heap.bytes += 2 * MiB;
      clock.tick(50);
    }
    expect(collected(), 'while connections keep arriving').to.equal(0);
    clock.tick(250);
    expect([collected(), bursts.collections, clock.countTimers()]).to.deep.equal([1, 1, 0]);
    clock.tick(1000);
    expect(collected(), 'once per burst').to.equal(1);
  });

  it('leaves a burst that grew the heap less alone, and counts growth from after the last collection', () => {
    const { bursts, heap, collected } = collector();
    bursts.arrived();
    heap.bytes += 8 * MiB;
    clock.tick(300);
    expect([collected(), clock.countTimers()]).to.deep.equal([0, 0]);
    bursts.arrived();
    heap.bytes += 8 * MiB; // 16 MiB over two bursts
    clock.tick(300);
    expect(collected()).to.equal(1);
    bursts.arrived();
    heap.bytes += 8 * MiB; // 20 MiB: only 8 since the collection left 12
    clock.tick(300);
    expect(collected()).to.equal(1);
  });

  it('holds no timer while nothing arrives, and none after close()', () => {
    const { bursts } = collector();
    expect(clock.countTimers()).to.equal(0);
    bursts.arrived();
    expect(clock.countTimers()).to.equal(1);
    bursts.close();
    expect(clock.countTimers()).to.equal(0);
  });
});
