import { expect } from 'chai';
import { SinkWriter } from '../../../proxy/pipeline/index.js';
import type { Lender } from '../../../proxy/pipeline/index.js';
import { CollectingSink } from '../../helpers/pipeline.js';

/** A lender that records what comes back, pinning 100 bytes of slack per chunk. */
function recordingLender(): Lender & { back: [string, boolean][] } {
  const back: [string, boolean][] = [];
  return { back, giveBack: (chunk, consumed) => back.push([chunk.toString(), consumed]), slackOf: () => 100 };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('SinkWriter', () => {
  it('gives a lent chunk back at once when the sink takes it synchronously', () => {
    const sink = new CollectingSink();
    const events: string[] = [];
    const writer = new SinkWriter(sink, { wrote: (full) => events.push(`wrote ${full}`), flushed: () => events.push('flushed') });
    const lender = recordingLender();
    writer.write(Buffer.from('abc'), lender);
    expect(lender.back).to.deep.equal([['abc', true]]);
    expect([writer.pendingBytes, writer.flushedBytes, events]).to.deep.equal([0, 3, ['wrote false']]);
  });

  it('keeps lent chunks (and their slack) pending until flushed, then gives them back in order', async () => {
    const sink = new CollectingSink(4);
    sink.held = true;
    let flushes = 0;
    const writer = new SinkWriter(sink, { wrote: () => {}, flushed: () => flushes++ });
    const lender = recordingLender();
    writer.write(Buffer.from('one'), lender);
    writer.write(Buffer.from('plain'), null);
    writer.write(Buffer.from('two'), lender);
    expect(writer.pendingBytes).to.equal(11 + 200);
    expect(lender.back).to.deep.equal([]);
    sink.flush();
    await tick();
    expect(lender.back).to.deep.equal([['one', true], ['two', true]]);
    expect([writer.pendingBytes, flushes]).to.deep.equal([0, 3]);
  });

  it('forgets lent chunks when abandoned (never back to a pool a write may still hold), and a late callback gives nothing back', async () => {
    const sink = new CollectingSink(4);
    sink.held = true;
    sink.on('error', () => {});
    const writer = new SinkWriter(sink, { wrote: () => {}, flushed: () => {} });
    const lender = recordingLender();
    writer.write(Buffer.from('held'), lender);
    writer.abandon();
    expect([lender.back, writer.pendingBytes]).to.deep.equal([[], 4]);
    sink.flush();
    await tick();
    expect(lender.back).to.deep.equal([]);
  });

  it('coalesces the writes of one tick into one writev when asked', async () => {
    const sizes: number[] = [];
    const sink = new (class extends CollectingSink {
      override _writev(chunks: { chunk: Buffer }[], done: () => void): void {
        sizes.push(chunks.length);
        for (const { chunk } of chunks) this.chunks.push(chunk);
        done();
      }
    })();
    const writer = new SinkWriter(sink, { wrote: () => {}, flushed: () => {} }, { coalesce: true });
    for (const piece of ['a', 'b', 'c']) writer.write(Buffer.from(piece), null);
    await tick();
    expect([sizes, sink.bytes().toString()]).to.deep.equal([[3], 'abc']);
  });

  it('passes the end on once, after the writes', async () => {
    const sink = new CollectingSink();
    const writer = new SinkWriter(sink, { wrote: () => {}, flushed: () => {} });
    writer.write(Buffer.from('last'), null);
    writer.end();
    writer.end();
    await tick();
    expect([writer.ended, sink.ended, sink.bytes().toString()]).to.deep.equal([true, true, 'last']);
  });
});
