import { expect } from 'chai';
import fc from 'fast-check';
import { BlockLedger, MemoryBudget } from '../../windowing/index.js';

const B = 1024; // block size in these tests

function ledger(budgetBlocks: number, options: { maxBlocks?: number; floorBlocks?: number; idleMs?: number; keptBlocks?: number } = {}): { l: BlockLedger; budget: MemoryBudget } {
  const budget = new MemoryBudget({ budgetBytes: budgetBlocks * B });
  return { l: new BlockLedger({ blockBytes: B, budget, ...options }), budget };
}

describe('BlockLedger', () => {
  it('charges a block per block in use, exactly up to the budget and not one block past it', () => {
    const { l, budget } = ledger(4, { floorBlocks: 0 });
    const taken = [l.take(), l.take(), l.take(), l.take()];
    expect(taken).to.deep.equal([0, 1, 2, 3]);
    expect([l.inUse, budget.usedBytes, l.exhausted]).to.deep.equal([4, 4 * B, true]);
    expect(l.take()).to.equal(-1);
    expect([l.inUse, budget.usedBytes, l.refusals]).to.deep.equal([4, 4 * B, 1]);
    expect(l.release(2, 0)).to.equal(true);
    expect([budget.usedBytes, l.exhausted]).to.deep.equal([3 * B, false]);
    expect(l.take()).to.equal(2); // the last freed comes back first
  });

  it('counts holders: retained blocks are freed (and their charge given back) by the last release only', () => {
    const { l, budget } = ledger(4);
    const b = l.take();
    l.retain(b);
    l.retain(b);
    expect(l.refsOf(b)).to.equal(3);
    expect([l.release(b, 0), l.release(b, 0)]).to.deep.equal([false, false]);
    expect(budget.usedBytes).to.equal(B);
    expect(l.release(b, 0)).to.equal(true);
    expect([l.refsOf(b), l.inUse, budget.usedBytes]).to.deep.equal([0, 0, 0]);
    expect(() => l.release(b, 0)).to.throw(RangeError, /released more often than it was held/);
    expect(() => l.retain(b)).to.throw(RangeError, /not in use/);
  });

  it('grants the floor past the budget when others filled it, so the pool always moves, and not one block more', () => {
    const { l, budget } = ledger(4, { floorBlocks: 2 });
    budget.adjust(4 * B); // e.g. connections' own charges
    expect([l.take(), l.take(), l.take()]).to.deep.equal([0, 1, -1]);
    expect(budget.usedBytes).to.equal(6 * B);
  });

  it('queues waiters first come first served; a newcomer queues behind them even when a block is free', () => {
    const { l } = ledger(2, { floorBlocks: 0 });
    const a = l.take();
    const b = l.take();
    const got: string[] = [];
    l.wait((block) => got.push(`first:${block}`));
    l.wait((block) => got.push(`second:${block}`));
    l.release(a, 0);
    expect(l.take()).to.equal(-1); // two wait ahead of it
    l.serve();
    expect(got).to.deep.equal([`first:${a}`]);
    l.release(b, 0);
    l.serve();
    expect(got).to.deep.equal([`first:${a}`, `second:${b}`]);
    expect(l.waiting).to.equal(0);
  });

  it('a cancelled waiter is skipped', () => {
    const { l } = ledger(1, { floorBlocks: 0 });
    const a = l.take();
    const got: number[] = [];
    const cancel = l.wait(() => got.push(1));
    l.wait(() => got.push(2));
    cancel();
    l.release(a, 0);
    l.serve();
    expect(got).to.deep.equal([2]);
  });

  it('serves waiters once bytes come back elsewhere (wake after a connection closed)', () => {
    const { l, budget } = ledger(2, { floorBlocks: 0 });
    budget.adjust(2 * B);
    const got: number[] = [];
    l.wait((block) => got.push(block));
    l.serve();
    expect(got).to.deep.equal([]);
    budget.adjust(-B);
    l.serve();
    expect(got).to.deep.equal([0]);
  });

  it('takes blocks for landed bytes past the budget (overdrafts) up to maxBlocks, and one past that finds none', () => {
    const { l, budget } = ledger(2, { maxBlocks: 3, floorBlocks: 0 });
    l.take();
    l.take();
    expect(l.take()).to.equal(-1);
    expect(l.takeLanded()).to.equal(2);
    expect([l.overdrafts, budget.usedBytes, budget.fill]).to.deep.equal([1, 3 * B, 1.5]);
    expect(l.takeLanded()).to.equal(-1);
  });

  it('does not hand a freed block to a waiter while the budget is overdrawn: the overdraft is paid back first', () => {
    const { l, budget } = ledger(2, { maxBlocks: 3, floorBlocks: 0 });
    const a = l.take();
    l.take();
    const c = l.takeLanded();
    const got: number[] = [];
    l.wait((block) => got.push(block));
    l.release(a, 0);
    l.serve();
    expect([got, budget.usedBytes]).to.deep.equal([[], 2 * B]);
    l.release(c, 0);
    l.serve();
    expect([got.length, budget.usedBytes]).to.deep.equal([1, 2 * B]);
  });

  it('reports free blocks idle for idleMs, oldest first and each once, until taken again', () => {
    const { l } = ledger(8, { idleMs: 2000 });
    const [a, b, c] = [l.take(), l.take(), l.take()];
    l.release(a, 1000);
    l.release(b, 2000);
    l.release(c, 2500);
    expect(l.idleBlocks(2999)).to.deep.equal([]);
    expect(l.idleBlocks(3000)).to.deep.equal([a]);
    expect(l.idleBlocks(3000)).to.deep.equal([]);
    expect(l.idleBlocks(4600)).to.deep.equal([b, c]);
    expect(l.take()).to.equal(c); // its memory was given back: the caller commits it again
    l.release(c, 5000);
    expect(l.idleBlocks(7000)).to.deep.equal([c]);
  });

  it('hands out kept blocks before any other free one and never reports them idle', () => {
    const { l } = ledger(8, { keptBlocks: 2, idleMs: 1000 });
    const [k0, k1, x2, x3] = [l.take(), l.take(), l.take(), l.take()];
    l.release(k0!, 0);
    l.release(x2!, 0);
    l.release(x3!, 10); // freed last
    expect(l.take()).to.equal(k0);
    l.release(k0!, 20);
    l.release(k1!, 20);
    expect(l.idleBlocks(5000).sort()).to.deep.equal([x2, x3]);
  });

  it('without a budget never runs out and charges nothing', () => {
    const l = new BlockLedger({ blockBytes: B });
    for (let i = 0; i < 1000; i++) expect(l.take()).to.equal(i);
    expect([l.exhausted, l.chargedBytes, l.createdBlocks]).to.deep.equal([false, 0, 1000]);
  });

  it('charged bytes always equal blocks in use times the block size, whatever the order of operations', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('take', 'landed', 'retain', 'release', 'wait', 'serve'), fc.nat(16)), { maxLength: 200 }), (ops) => {
        const { l, budget } = ledger(6, { maxBlocks: 8 });
        const held: number[] = [];
        for (const [op, n] of ops) {
          if (op === 'take' || op === 'landed') {
            const b = op === 'take' ? l.take() : l.takeLanded();
            if (b >= 0) held.push(b);
          } else if (op === 'retain' && held.length > 0) {
            const b = held[n % held.length]!;
            l.retain(b);
            held.push(b);
          } else if (op === 'release' && held.length > 0) {
            l.release(held.splice(n % held.length, 1)[0]!, 0);
          } else if (op === 'wait') l.wait((b) => held.push(b));
          else if (op === 'serve') l.serve();
          expect(budget.usedBytes).to.equal(l.inUse * B);
          expect(l.inUse).to.be.at.most(8);
          expect(new Set(held).size).to.equal(l.inUse);
        }
      }),
    );
  });
});
