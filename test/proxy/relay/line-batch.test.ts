import { expect } from 'chai';
import sinon from 'sinon';
import { LineBatch } from '../../../proxy/relay/access-log.js';

describe('LineBatch (batched access-log writes)', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers();
  });
  afterEach(() => clock.restore());

  it('writes the lines of one moment together, in order, once the delay has passed', async () => {
    const writes: string[] = [];
    const batch = new LineBatch({ write: (t) => writes.push(t), delayMs: 20 });
    batch.push('a');
    batch.push('b');
    await clock.tickAsync(19);
    expect(writes).to.deep.equal([]);
    batch.push('c');
    await clock.tickAsync(1);
    expect(writes).to.deep.equal(['a\nb\nc\n']);
    expect(clock.countTimers()).to.equal(0);
  });

  it('writes at once when the batch reaches its size, and leaves no timer behind', async () => {
    const writes: string[] = [];
    const batch = new LineBatch({ write: (t) => writes.push(t), maxBytes: 10 });
    batch.push('12345');
    batch.push('6789'); // 6 + 5 = 11 with newlines
    expect(writes).to.deep.equal(['12345\n6789\n']);
    expect(batch.pendingBytes).to.equal(0);
    expect(clock.countTimers()).to.equal(0);
  });

  it('flush() writes what is pending now and nothing when nothing is', () => {
    const writes: string[] = [];
    const batch = new LineBatch({ write: (t) => writes.push(t) });
    batch.flush();
    expect(writes).to.deep.equal([]);
    batch.push('x');
    batch.flush();
    batch.flush();
    expect(writes).to.deep.equal(['x\n']);
    expect(clock.countTimers()).to.equal(0);
  });

  it('loses no line over many batches', async () => {
    const writes: string[] = [];
    const batch = new LineBatch({ write: (t) => writes.push(t), maxBytes: 100, delayMs: 5 });
    for (let i = 0; i < 1000; i++) {
      batch.push(`line ${i}`);
      if (i % 7 === 0) await clock.tickAsync(3);
    }
    batch.flush();
    const lines = writes.join('').split('\n').slice(0, -1);
    expect(lines).to.deep.equal(Array.from({ length: 1000 }, (_, i) => `line ${i}`));
    expect(writes.length).to.be.below(1000);
  });
});
