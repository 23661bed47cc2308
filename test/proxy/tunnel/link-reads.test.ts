import { expect } from 'chai';
import { BufferPool } from '../../../proxy/memory/buffer-pool.js';
import { isPooledRead, LinkReads, LINK_READ_BUFFER_BYTES, MIN_READ_ROOM_BYTES, releaseRead, retainRead } from '../../../proxy/tunnel/link-reads.js';

/** Simulates one `onread` read of `text` through the hook. */
function read(reads: LinkReads, text: string): Buffer {
  const buffer = reads.onread.buffer();
  const n = buffer.write(text);
  reads.onread.callback(n, buffer);
  return buffer;
}

describe('LinkReads (pooled link read buffers)', () => {
  it('reads into 256 KiB buffers and reuses one at once when the session kept no view', () => {
    const pool = new BufferPool({ bufferBytes: LINK_READ_BUFFER_BYTES, maxCached: 4 });
    const reads = new LinkReads(pool);
    const seen: string[] = [];
    reads.bind((chunk) => seen.push(chunk.toString()));
    const first = read(reads, 'one');
    const second = read(reads, 'two');
    expect(first.length).to.equal(LINK_READ_BUFFER_BYTES);
    expect(second).to.equal(first);
    expect(seen).to.deep.equal(['one', 'two']);
  });

  it('while views are held, reads go into the rest of the same buffer and never over a held view', () => {
    const pool = new BufferPool({ bufferBytes: LINK_READ_BUFFER_BYTES, maxCached: 4 });
    const reads = new LinkReads(pool);
    const kept: Buffer[] = [];
    let keep = true;
    reads.bind((chunk) => {
      if (!keep) return;
      const a = chunk.subarray(0, 2);
      const b = chunk.subarray(2);
      retainRead(a);
      retainRead(b);
      kept.push(a, b);
    });
    const first = read(reads, 'abcd');
    const second = read(reads, 'efgh');
    expect(second.buffer).to.equal(first.buffer);
    expect(second.byteOffset - first.byteOffset).to.equal(4);
    expect(kept.map((k) => k.toString())).to.deep.equal(['ab', 'cd', 'ef', 'gh']);
    expect(isPooledRead(kept[0]!)).to.equal(true);
    for (const k of kept) releaseRead(k);
    expect(pool.cached, 'the reader still holds its buffer').to.equal(0);
    keep = false;
    read(reads, 'ijkl');
    const fourth = read(reads, 'mnop');
    expect(fourth.byteOffset, 'nothing held after a read: back to the start').to.equal(first.byteOffset);
  });

  it('moves to a fresh buffer once less than MIN_READ_ROOM_BYTES is left, and returns the old one on the last release', () => {
    const pool = new BufferPool({ bufferBytes: LINK_READ_BUFFER_BYTES, maxCached: 4 });
    const reads = new LinkReads(pool);
    const kept: Buffer[] = [];
    reads.bind((chunk) => {
      retainRead(chunk);
      kept.push(chunk);
    });
    const big = 'x'.repeat(LINK_READ_BUFFER_BYTES - MIN_READ_ROOM_BYTES + 1);
    const first = read(reads, big);
    const second = read(reads, 'after');
    expect(second.buffer).to.not.equal(first.buffer);
    expect(second.byteOffset).to.equal(0);
    expect(pool.cached).to.equal(0);
    releaseRead(kept[0]!);
    expect(pool.cached).to.equal(1);
    expect(isPooledRead(kept[0]!)).to.equal(false);
    releaseRead(kept[0]!); // an extra release of a returned buffer is a no-op
    expect(pool.cached).to.equal(1);
    expect(kept[1]!.toString(), 'the other buffer is untouched').to.equal('after');
    expect(pool.take().buffer).to.equal(first.buffer);
  });

  it('a piece of every read stays intact while held, whatever the read sizes (random)', () => {
    const pool = new BufferPool({ bufferBytes: LINK_READ_BUFFER_BYTES, maxCached: 4 });
    const reads = new LinkReads(pool);
    const held: { view: Buffer; copy: Buffer }[] = [];
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    reads.bind((chunk) => {
      if (rand(3) === 0) return; // some reads are consumed at once
      retainRead(chunk);
      held.push({ view: chunk, copy: Buffer.from(chunk) });
    });
    for (let i = 0; i < 2000; i++) {
      const buffer = reads.onread.buffer();
      const n = 1 + rand(Math.min(buffer.length, 96 * 1024));
      for (let k = 0; k < n; k += 997) buffer[k] = rand(256);
      buffer[n - 1] = rand(256);
      reads.onread.callback(n, buffer);
      while (held.length > 0 && rand(4) === 0) {
        const { view, copy } = held.splice(rand(held.length), 1)[0]!;
        expect(view.equals(copy)).to.equal(true);
        releaseRead(view);
      }
    }
    for (const { view, copy } of held) expect(view.equals(copy)).to.equal(true);
  });

  it('copies reads that arrive before a session is bound and hands them over on bind', () => {
    const reads = new LinkReads(new BufferPool({ bufferBytes: LINK_READ_BUFFER_BYTES, maxCached: 1 }));
    read(reads, 'early');
    const seen: Buffer[] = [];
    reads.bind((chunk) => seen.push(chunk));
    expect(seen.map((s) => s.toString())).to.deep.equal(['early']);
    expect(isPooledRead(seen[0]!)).to.equal(false);
  });

  it('caches at most maxCached buffers', () => {
    const pool = new BufferPool({ bufferBytes: LINK_READ_BUFFER_BYTES, maxCached: 1 });
    pool.give(Buffer.alloc(LINK_READ_BUFFER_BYTES));
    pool.give(Buffer.alloc(LINK_READ_BUFFER_BYTES));
    expect(pool.cached).to.equal(1);
  });
});
