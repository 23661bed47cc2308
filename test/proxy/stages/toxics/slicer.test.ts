import { expect } from 'chai';
import fc from 'fast-check';
import sinon from 'sinon';
import { SlicerStage, sliceBounds } from '../../../../proxy/stages/toxics/index.js';
import { PIECE_OVERHEAD_BYTES } from '../../../../proxy/stages/toxics/timed-queue-stage.js';
import { feed } from '../../../helpers/pipeline.js';
import { randomBytes, randomChunks, seededRandom } from '../../../../scenarios/harness/random.js';
import { advance, TOXIC_FAKES, toxicDirection } from '../../../helpers/toxics.js';

/**
 * toxiproxy's SlicerToxic.chunk (toxics/slicer.go), copied naively: it answers [start0, end0, start1,
 * end1, ...], one pair per piece, with `rand.Intn(v*2) - v` as floor(random() * 2v) - v.
 */
function toxiproxyChunk(start: number, end: number, average: number, variation: number, random: () => number): number[] {
  if (end - start - average <= variation) return [start, end];
  let mid = start + Math.floor((end - start) / 2);
  if (variation > 0) mid += Math.floor(random() * variation * 2) - variation;
  const left = toxiproxyChunk(start, mid, average, variation, random);
  const right = toxiproxyChunk(mid, end, average, variation, random);
  return [...left, ...right];
}

/** toxiproxy's pairs as cut points: [start0, end0, end1, ...]. */
function asBounds(pairs: number[]): number[] {
  return [pairs[0]!, ...pairs.filter((_, i) => i % 2 === 1)];
}

describe('toxic slicer (SlicerStage)', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => (clock = sinon.useFakeTimers(TOXIC_FAKES)));
  afterEach(() => clock.restore());

  it('sliceBounds cuts exactly where toxiproxy\'s recursion does, drawing the same randoms in the same order', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 1, max: 300 }), fc.nat(), fc.integer(), (length, average, v, seed) => {
        const variation = v % average;
        const ours = sliceBounds(0, length, average, variation, seededRandom(seed));
        const theirs = asBounds(toxiproxyChunk(0, length, average, variation, seededRandom(seed)));
        expect(ours).to.deep.equal(theirs);
      }),
      { numRuns: 500 },
    );
  });

  it('sliceBounds: pieces within average ± variation... or whole when short (examples)', () => {
    expect(sliceBounds(0, 10, 10, 0, Math.random)).to.deep.equal([0, 10]);
    expect(sliceBounds(0, 11, 10, 0, Math.random)).to.deep.equal([0, 5, 11]);
    expect(sliceBounds(0, 8, 1, 0, Math.random)).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(sliceBounds(0, 0, 5, 0, Math.random)).to.deep.equal([0, 0]);
    // A 64 KiB chunk in 1-byte pieces does not blow the stack.
    expect(sliceBounds(0, 65536, 1, 0, Math.random).length).to.equal(65537);
  });

  it('pieces come `delay` µs apart (on a ms clock: piece i at ceil(i x delay)), the first at once, every byte in order', async () => {
    const data = randomBytes(1000, 5);
    const stage = new SlicerStage({ averageSize: 100, sizeVariation: 0, delayUs: 2500 });
    const { sink, deliver, direction } = toxicDirection(clock, [stage]);
    const bounds = sliceBounds(0, 1000, 100, 0, Math.random);
    deliver(data);
    await advance(clock, 100);
    expect(sink.arrivals.map((a) => a.bytes)).to.deep.equal(bounds.slice(1).map((end, i) => end - bounds[i]!));
    expect(sink.arrivals.map((a) => a.atMs)).to.deep.equal(bounds.slice(1).map((_, i) => Math.ceil(i * 2.5)));
    expect(sink.bytes().equals(data)).to.equal(true);
    direction.stop();
  });

  it('the next chunk\'s first piece waits a delay after the last piece of the one before', async () => {
    const stage = new SlicerStage({ averageSize: 10, sizeVariation: 0, delayUs: 10_000 });
    const { sink, deliver, direction } = toxicDirection(clock, [stage]);
    deliver(20); // pieces at 0 and 10
    await advance(clock, 1);
    deliver(10); // at 20, not at 1
    await advance(clock, 100);
    expect(sink.arrivals.map((a) => a.atMs)).to.deep.equal([0, 10, 20]);
    direction.stop();
  });

  it('with size_variation, pieces stay between average - variation and average + variation (seeded)', async () => {
    const stage = new SlicerStage({ averageSize: 50, sizeVariation: 20, delayUs: 0, random: seededRandom(8) });
    const { sink, deliver, direction } = toxicDirection(clock, [stage]);
    const data = randomBytes(20_000, 8);
    deliver(data);
    await advance(clock, 1);
    const sizes = sink.arrivals.map((a) => a.bytes);
    expect(sink.bytes().equals(data)).to.equal(true);
    expect(Math.max(...sizes)).to.be.at.most(70);
    expect(Math.min(...sizes)).to.be.at.least(1);
    direction.stop();
  });

  it('holds the producer (reason toxic) once the window waits in it, each piece counting its bookkeeping too, and lets go at half', async () => {
    const stage = new SlicerStage({ averageSize: 1000, sizeVariation: 0, delayUs: 100_000 }); // 100 ms per piece
    const window = 8 * (1000 + PIECE_OVERHEAD_BYTES);
    const { deliver, direction } = toxicDirection(clock, [stage], { windowBytes: window });
    deliver(8000); // 8 pieces of 1000, at 0, 100, ... 700
    expect(direction.valve.ledger.reasons()).to.deep.equal(['toxic']);
    await advance(clock, 200); // 3 gone
    expect([stage.heldBytes, direction.isHeld]).to.deep.equal([5000, true]);
    await advance(clock, 100); // 4 gone, 4 left: half the window with their bookkeeping
    expect([stage.heldBytes, direction.isHeld]).to.deep.equal([4000, false]);
    direction.stop();
  });

  it('1-byte pieces into a sink that stopped: the pieces queued here and in the sink stay within the window, bookkeeping counted (found from outside: 63 MiB for one connection)', async () => {
    const stage = new SlicerStage({ averageSize: 1, sizeVariation: 0, delayUs: 0 });
    const window = 64 * 1024;
    const { source, sink, direction } = toxicDirection(clock, [stage], { windowBytes: window });
    sink.held = true;
    const data = randomBytes(1024 * 1024, 12);
    void feed(source, randomChunks(data, 16 * 1024, 13));
    let most = { here: 0, sink: 0 };
    for (let i = 0; i < 50; i++) {
      await advance(clock, 10);
      most = { here: Math.max(most.here, stage.heldBytes), sink: Math.max(most.sink, sink.writableLength) };
    }
    // Pieces of 1 + 256 bytes: a window holds 255 of them; one read (16 KiB) may arrive past the limit.
    const perPiece = 1 + PIECE_OVERHEAD_BYTES;
    expect(most.sink, 'pieces in the sink\'s queue').to.be.at.most(Math.ceil(window / perPiece) + 1);
    expect(most.here, 'pieces queued in the slicer').to.be.at.most(Math.ceil(window / perPiece) + 16 * 1024);
    sink.flush();
    for (let i = 0; i < 20000 && sink.received < data.length; i++) await advance(clock, 1);
    expect(sink.bytes().equals(data)).to.equal(true);
    direction.stop();
  });

  it('removed mid-chunk: the rest of the pieces and the end go on at once', async () => {
    const stage = new SlicerStage({ averageSize: 10, sizeVariation: 0, delayUs: 1_000_000 });
    const { sink, deliver, direction } = toxicDirection(clock, [stage]);
    const data = randomBytes(80, 6); // 8 pieces of 10
    deliver(data);
    direction.end();
    await advance(clock, 1000);
    expect(sink.received).to.equal(20);
    direction.removeStage(stage);
    await advance(clock, 0);
    expect([sink.bytes().equals(data), sink.endedAtMs, clock.countTimers()]).to.deep.equal([true, 1000, 0]);
  });

  it('updated: the pieces it holds go on at the new delay', async () => {
    const stage = new SlicerStage({ averageSize: 10, sizeVariation: 0, delayUs: 1_000_000 });
    const { sink, deliver, direction } = toxicDirection(clock, [stage]);
    deliver(40); // pieces at 0, 1000, 2000, 3000
    await advance(clock, 10);
    direction.replaceStage(stage, new SlicerStage({ averageSize: 10, sizeVariation: 0, delayUs: 10_000 }));
    await advance(clock, 100);
    expect(sink.arrivals.map((a) => a.atMs)).to.deep.equal([0, 10, 20, 30]);
    direction.stop();
  });

  it('refuses a variation not below the average size', () => {
    expect(() => new SlicerStage({ averageSize: 10, sizeVariation: 10, delayUs: 0 })).to.throw(RangeError);
    expect(() => new SlicerStage({ averageSize: 0, sizeVariation: 0, delayUs: 0 })).to.throw(RangeError);
  });
});
