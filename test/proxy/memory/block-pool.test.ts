import { expect } from 'chai';
import { MemoryBudget } from '../../../windowing/index.js';
import { BLOCK_BYTES, BlockPool, blockBytesFor, POISON_BYTE } from '../../../proxy/memory/block-pool.js';
import { RESIZABLE } from '../../../proxy/memory/block-memory.js';

const KiB = 1024;
const MiB = 1024 * KiB;

describe('BlockPool', () => {
  const pools: BlockPool[] = [];
  afterEach(() => {
    for (const p of pools.splice(0)) p.close();
  });

  function pool(budgetBytes: number | null, options: { poison?: boolean; afterBurst?: () => void; keptBytes?: number } = {}): { p: BlockPool; budget: MemoryBudget | undefined; clock: { ms: number } } {
    const clock = { ms: 0 };
    const budget = budgetBytes === null ? undefined : new MemoryBudget({ budgetBytes });
    const p = new BlockPool({
      ...(budget ? { budget } : {}),
      now: () => clock.ms,
      tickMs: 1e9,
      poison: options.poison ?? false,
      keptBytes: options.keptBytes ?? 0,
      ...(options.afterBurst ? { afterBurst: options.afterBurst } : {}),
    });
    pools.push(p);
    return { p, budget, clock };
  }

  it('sizes blocks at 64 KiB, halving (to 4 KiB) for budgets that hold fewer than 32 of them', () => {
    expect([256 * MiB, 32 * MiB, 2 * MiB, MiB, 128 * KiB, 64 * KiB, 1000].map(blockBytesFor)).to.deep.equal([BLOCK_BYTES, BLOCK_BYTES, BLOCK_BYTES, 32 * KiB, 4 * KiB, 4 * KiB, 4 * KiB]);
    expect(blockBytesFor(undefined)).to.equal(BLOCK_BYTES);
  });

  it('hands out whole blocks and knows which block a view of one belongs to', () => {
    const { p } = pool(32 * MiB);
    const a = p.take();
    const b = p.take();
    expect(p.view(a).length).to.equal(BLOCK_BYTES);
    expect(p.blockOf(p.view(b).subarray(100, 200))).to.equal(b);
    expect(p.blockOf(Buffer.alloc(10))).to.equal(-1);
    expect(p.view(a).buffer).to.not.equal(p.view(b).buffer);
  });

  it('stops at the budget plus its overdraft: take refuses at the budget, landed copies go past it, then fall back', () => {
    const { p, budget } = pool(128 * KiB); // 4 KiB blocks: 32 within the budget, 2 of overdraft
    expect(p.blockBytes).to.equal(4 * KiB);
    const held: number[] = [];
    for (let b = p.take(); b >= 0; b = p.take()) held.push(b);
    expect([held.length, budget!.usedBytes]).to.deep.equal([32, 128 * KiB]);
    const landed = Buffer.alloc(4 * KiB, 7);
    expect(p.copyLanded(landed, 0, 4 * KiB)).to.not.equal(null);
    expect(p.copyLanded(landed, 0, 4 * KiB)).to.not.equal(null);
    expect([p.ledger.overdrafts, budget!.usedBytes]).to.deep.equal([2, 136 * KiB]);
    expect(p.copyLanded(landed, 0, 4 * KiB)).to.equal(null);
    expect(p.fallbacks).to.equal(1);
  });

  it('packs landed copies one after the other in a shared block, each copy holding it', () => {
    const { p } = pool(32 * MiB);
    const source = Buffer.from('hello world');
    const one = p.copyLanded(source, 0, 5)!;
    const two = p.copyLanded(source, 6, 5)!;
    expect([one.toString(), two.toString()]).to.deep.equal(['hello', 'world']);
    const block = p.blockOf(one);
    expect([p.blockOf(two), p.refsOf(block)]).to.deep.equal([block, 3]); // the pool's own hold + two copies
    p.release(block);
    p.release(block);
    p.tick(); // only the pool holds it now: it lets go
    expect(p.refsOf(block)).to.equal(0);
  });

  it('hands blocks to waiters first come first served as they are freed', () => {
    const { p } = pool(128 * KiB);
    const held: number[] = [];
    for (let b = p.take(); b >= 0; b = p.take()) held.push(b);
    const got: string[] = [];
    p.wait((b) => got.push(`a${b}`));
    p.wait((b) => got.push(`b${b}`));
    p.release(held[5]!);
    p.release(held[9]!);
    expect(got).to.deep.equal(['a5', 'b9']);
  });

  it('serves a waiter when budget bytes come back from elsewhere (wake)', () => {
    const { p, budget } = pool(128 * KiB);
    budget!.adjust(128 * KiB);
    for (let i = 0; i < 2; i++) p.take(); // the floor
    const got: number[] = [];
    p.wait((b) => got.push(b));
    p.wake();
    expect(got).to.deep.equal([]);
    budget!.adjust(-64 * KiB);
    p.wake();
    expect(got.length).to.equal(1);
  });

  it('gives a free block\'s memory back once it has been free for 2 s', () => {
    const { p, clock } = pool(32 * MiB);
    const blocks = [p.take(), p.take(), p.take()];
    for (const b of blocks) p.view(b).fill(1);
    expect(p.committedBytes).to.equal(3 * BLOCK_BYTES);
    p.release(blocks[0]!);
    p.release(blocks[1]!);
    clock.ms = 1999;
    p.tick();
    expect(p.committedBytes).to.equal(3 * BLOCK_BYTES);
    clock.ms = 2000;
    p.tick();
    expect(p.committedBytes).to.equal(BLOCK_BYTES);
    const again = p.take();
    expect(p.committedBytes).to.equal(2 * BLOCK_BYTES);
    if (RESIZABLE) expect(p.view(again).every((x) => x === 0)).to.equal(true); // fresh pages: the old ones went back
  });

  it('runs afterBurst once the memory held fell to a quarter of its peak, and not again without a new burst', () => {
    let bursts = 0;
    const { p, clock } = pool(2 * MiB, { afterBurst: () => bursts++ }); // 32 blocks; a burst is 4 of them
    const blocks = Array.from({ length: 20 }, () => p.take());
    for (const b of blocks.slice(0, 14)) p.release(b);
    clock.ms = 2000;
    p.tick();
    expect([p.committedBytes, bursts]).to.deep.equal([6 * BLOCK_BYTES, 0]); // 6 of 20 left: more than a quarter
    p.release(blocks[14]!);
    p.release(blocks[15]!);
    p.release(blocks[16]!);
    clock.ms = 4000;
    p.tick();
    expect([p.committedBytes, bursts]).to.deep.equal([3 * BLOCK_BYTES, 1]);
    for (const b of blocks.slice(17)) p.release(b);
    clock.ms = 6000;
    p.tick();
    expect([p.committedBytes, bursts]).to.deep.equal([0, 1]); // 3 blocks fell: under an eighth of the budget
  });

  it('forsakes a block a closed sink may still send from: its charge comes back once free, its memory is left alone and never reused', () => {
    const { p, budget } = pool(128 * KiB, { poison: true });
    const b = p.take();
    const sent = p.view(b).subarray(0, 100).fill(7);
    p.retain(b); // the chunk lent to the sink
    p.forsake(b);
    expect(p.refsOf(b)).to.equal(1); // the reader still holds it
    p.release(b);
    expect([p.refsOf(b), budget!.usedBytes, p.committedBytes]).to.deep.equal([0, 0, 0]);
    const again = p.take();
    expect(again).to.equal(b); // the same number, with fresh memory
    p.view(again).fill(9);
    expect([p.view(again).buffer === sent.buffer, sent.every((x) => x === 7)]).to.deep.equal([false, true]);
  });

  it('hands out its kept blocks first, as plain memory that is never given back; a burst is judged without them', () => {
    let bursts = 0;
    const { p, clock } = pool(2 * MiB, { keptBytes: 2 * BLOCK_BYTES, afterBurst: () => bursts++ });
    const blocks = Array.from({ length: 8 }, () => p.take());
    expect(blocks.slice(0, 2)).to.deep.equal([0, 1]);
    const resizable = (b: number) => (p.view(b).buffer as ArrayBuffer & { resizable?: boolean }).resizable === true;
    if (RESIZABLE) expect(blocks.map(resizable)).to.deep.equal([false, false, true, true, true, true, true, true]);
    p.release(blocks[1]!);
    p.release(blocks[7]!); // freed last, but a kept block is free
    expect(p.take()).to.equal(1);
    for (const b of [1, ...blocks.slice(0, 1), ...blocks.slice(2, 7)]) p.release(b);
    clock.ms = 2000;
    p.tick();
    expect([p.committedBytes, bursts]).to.deep.equal([2 * BLOCK_BYTES, 1]); // the kept two stay; the six extra fell to none: a burst
    const again = Array.from({ length: 8 }, () => p.take());
    expect(again.slice(0, 2).sort()).to.deep.equal([0, 1]);
  });

  describe('poison mode', () => {
    it('fills a freed block with the poison byte', () => {
      const { p } = pool(32 * MiB, { poison: true });
      const b = p.take();
      p.view(b).fill(1);
      p.retain(b);
      p.release(b);
      expect(p.view(b)[0]).to.equal(1); // still held once
      p.release(b);
      expect(p.view(b).every((x) => x === POISON_BYTE)).to.equal(true);
    });

    it('throws when a block is handed out again after something wrote to it while it was free', () => {
      const { p } = pool(32 * MiB, { poison: true });
      const b = p.take();
      const stale = p.view(b).subarray(10, 20);
      p.release(b);
      stale.fill(0); // a use after free
      expect(() => p.take()).to.throw(/written to while it was free/);
    });

    it('is on with SLUICE_POISON_BLOCKS=1', () => {
      const before = process.env.SLUICE_POISON_BLOCKS;
      process.env.SLUICE_POISON_BLOCKS = '1';
      try {
        const p = new BlockPool();
        pools.push(p);
        expect(p.poison).to.equal(true);
      } finally {
        if (before === undefined) delete process.env.SLUICE_POISON_BLOCKS;
        else process.env.SLUICE_POISON_BLOCKS = before;
      }
    });
  });
});
