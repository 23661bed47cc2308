import { expect } from 'chai';
import { isPooledRead, LinkBufferPool, LinkReads, LINK_READ_BUFFER_BYTES, releaseRead, retainRead } from '../../proxy/link-reads.js';

/** Simulates one `onread` read of `text` through the hook. */
function read(reads: LinkReads, text: string): Buffer {
  const buffer = reads.onread.buffer();
  const n = buffer.write(text);
  reads.onread.callback(n, buffer);
  return buffer;
}

describe('LinkReads (pooled link read buffers)', () => {
  it('reads into 256 KiB buffers and reuses one at once when the session kept no view', () => {
    const pool = new LinkBufferPool(4);
    const reads = new LinkReads(pool);
    const seen: string[] = [];
    reads.bind((chunk) => seen.push(chunk.toString()));
    const first = read(reads, 'one');
    const second = read(reads, 'two');
    expect(first.length).to.equal(LINK_READ_BUFFER_BYTES);
    expect(second).to.equal(first);
    expect(seen).to.deep.equal(['one', 'two']);
  });

  it('keeps a buffer out of use while a view into it is held, and returns it to the pool on the last release', () => {
    const pool = new LinkBufferPool(4);
    const reads = new LinkReads(pool);
    const kept: Buffer[] = [];
    reads.bind((chunk) => {
      const a = chunk.subarray(0, 2);
      const b = chunk.subarray(2);
      retainRead(a);
      retainRead(b);
      kept.push(a, b);
    });
    const first = read(reads, 'abcd');
    const second = read(reads, 'efgh');
    expect(second).to.not.equal(first);
    expect(kept.map((k) => k.toString())).to.deep.equal(['ab', 'cd', 'ef', 'gh']);
    expect(isPooledRead(kept[0]!)).to.equal(true);
    releaseRead(kept[0]!);
    expect(pool.cached).to.equal(0);
    releaseRead(kept[1]!);
    expect(pool.cached).to.equal(1);
    expect(isPooledRead(kept[0]!)).to.equal(false);
    releaseRead(kept[1]!); // an extra release of a returned buffer is a no-op
    expect(pool.cached).to.equal(1);
    expect(kept[2]!.toString(), 'the other buffer is untouched').to.equal('ef');
    expect(pool.take()).to.equal(first);
  });

  it('copies reads that arrive before a session is bound and hands them over on bind', () => {
    const reads = new LinkReads(new LinkBufferPool(1));
    read(reads, 'early');
    const seen: Buffer[] = [];
    reads.bind((chunk) => seen.push(chunk));
    expect(seen.map((s) => s.toString())).to.deep.equal(['early']);
    expect(isPooledRead(seen[0]!)).to.equal(false);
  });

  it('caches at most maxCached buffers', () => {
    const pool = new LinkBufferPool(1);
    pool.give(Buffer.alloc(1));
    pool.give(Buffer.alloc(1));
    expect(pool.cached).to.equal(1);
  });
});
