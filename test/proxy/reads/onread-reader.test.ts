import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { Writable } from 'node:stream';
import { DirectionWindow, MemoryBudget } from '../../../windowing/index.js';
import { BlockPool } from '../../../proxy/memory/block-pool.js';
import { Direction, type Stage } from '../../../proxy/pipeline/index.js';
import { OnreadReader } from '../../../proxy/reads/onread-reader.js';
import { LIGHT_READ_BYTES } from '../../../proxy/reads/read-buffers.js';
import { ReadHook } from '../../../proxy/reads/read-hook.js';
import { randomBytes } from '../../../scenarios/harness/random.js';
import { adoptedPair } from '../../helpers/adopted.js';
import { ProbeStage } from '../../helpers/pipeline.js';
import { closed, Resources, until } from '../../helpers/sockets.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** A sink that copies what it is given (blocks are read over once flushed) and notes which chunks were views of the pool's blocks; its callbacks wait while `held`. */
class CopyingSink extends Writable {
  readonly copies: Buffer[] = [];
  readonly sizes: number[] = [];
  received = 0;
  fromBlocks = 0;
  held = false;
  private waiting: (() => void)[] = [];

  constructor(private readonly pool: BlockPool) {
    super({ highWaterMark: 8 * MiB }); // never full before the window or the budget
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.copies.push(Buffer.from(chunk));
    this.sizes.push(chunk.length);
    this.received += chunk.length;
    if (this.pool.blockOf(chunk) >= 0) this.fromBlocks++;
    if (this.held) this.waiting.push(done);
    else done();
  }

  /** Completes the held writes and stops holding. */
  flush(): void {
    this.held = false;
    for (const done of this.waiting.splice(0)) done();
  }

  bytes(): Buffer {
    return Buffer.concat(this.copies);
  }
}

describe('OnreadReader (reads into budget-governed blocks)', () => {
  const res = new Resources();
  const pools: BlockPool[] = [];
  afterEach(async () => {
    await res.closeAll();
    for (const p of pools.splice(0)) p.close();
  });

  async function setUp(budgetBytes: number, stages: Stage[] = []): Promise<{ client: Socket; source: Socket; pool: BlockPool; sink: CopyingSink; direction: Direction }> {
    const { client, source, hook } = await adoptedPair(res);
    const pool = new BlockPool({ budget: new MemoryBudget({ budgetBytes }), poison: true });
    pools.push(pool);
    const sink = new CopyingSink(pool);
    const direction = new Direction({ reader: new OnreadReader(source, hook, pool), sink, stages, window: new DirectionWindow({ windowBytes: 8 * MiB }), now: () => performance.now() });
    res.defer(() => direction.stop());
    return { client, source, pool, sink, direction };
  }

  it('lends bulk reads as views of its blocks, without a copy, and gives every block back once the socket is gone', async () => {
    const { client, source, pool, sink, direction } = await setUp(4 * MiB);
    const data = randomBytes(2 * MiB, 1);
    direction.start();
    client.end(data);
    await until(() => sink.received === data.length, 'everything at the sink');
    expect(sink.bytes().equals(data)).to.equal(true);
    expect(sink.fromBlocks).to.be.above(sink.sizes.length / 2);
    expect(Math.max(...sink.sizes)).to.be.at.most(pool.blockBytes);
    source.destroy();
    await closed(source);
    direction.stop();
    pool.tick();
    expect(pool.ledger.inUse).to.equal(0);
  });

  it('with the budget full, holds its source for memory and queues; a block coming back lets it go on, every byte intact', async () => {
    const { client, pool, sink, direction } = await setUp(128 * KiB); // 32 blocks of 4 KiB
    sink.held = true; // the sink takes nothing: lent blocks stay lent
    const data = randomBytes(1 * MiB, 2);
    direction.start();
    client.write(data);
    await until(() => pool.waiting === 1 && direction.valve.ledger.reasons().includes('memory'), 'held for memory');
    expect(pool.inUseBytes).to.be.at.most(128 * KiB + 2 * pool.blockBytes); // within the budget, plus the landed overdraft
    sink.flush();
    await until(() => sink.received === data.length, 'everything at the sink');
    expect(sink.bytes().equals(data)).to.equal(true);
    expect(direction.valve.isHeld).to.equal(false);
  });

  it('reads whole (not light) reads for a first stage that copies what it keeps', async () => {
    const { client, sink, direction } = await setUp(4 * MiB, [new ProbeStage(false)]);
    const data = randomBytes(512 * KiB, 3);
    client.write(data);
    await until(() => client.writableLength === 0, 'the bytes in the kernel');
    direction.start();
    await until(() => sink.received === data.length, 'everything at the sink');
    expect(sink.bytes().equals(data)).to.equal(true);
    expect(Math.max(...sink.sizes)).to.be.above(LIGHT_READ_BYTES);
  });

  it('keeps the block its next read lands in until the socket is gone, even once stopped', () => {
    // A socket driven by hand: each read lands where the hook says, as libuv would.
    const socket = Object.assign(new EventEmitter(), { destroyed: false, readableEnded: false, pause() {}, resume() {} }) as unknown as Socket;
    const hook = new ReadHook();
    const pool = new BlockPool({ budget: new MemoryBudget({ budgetBytes: 4 * MiB }), poison: true });
    pools.push(pool);
    const sink = new CopyingSink(pool);
    const direction = new Direction({ reader: new OnreadReader(socket, hook, pool), sink, window: new DirectionWindow({ windowBytes: 8 * MiB }), now: () => performance.now() });
    direction.start();
    const read = (bytes: number): void => {
      const into = hook.onread.buffer();
      into.fill(7, 0, bytes);
      hook.onread.callback(bytes, into);
    };
    read(LIGHT_READ_BYTES); // fills the light view: bulk starts
    read(hook.onread.buffer().length); // a whole block tail
    expect(pool.blockOf(hook.onread.buffer())).to.be.at.least(0);
    direction.stop();
    pool.tick();
    expect(pool.ledger.inUse, 'the block the next read would land in').to.equal(1);
    (socket as unknown as { destroyed: boolean }).destroyed = true;
    socket.emit('close');
    pool.tick();
    expect([pool.ledger.inUse, sink.received]).to.deep.equal([0, LIGHT_READ_BYTES + pool.blockBytes]);
  });
});
