import { PassThrough, Writable } from 'node:stream';
import { DirectionWindow, type MemoryBudget } from '../../windowing/index.js';
import { Direction, type Lender, type Stage, type StageContext } from '../../proxy/pipeline/index.js';
import { StreamReader } from '../../proxy/reads/stream-reader.js';

/** A sink that takes everything at once (or holds its write callbacks while `held`), keeping what it got. */
export class CollectingSink extends Writable {
  readonly chunks: Buffer[] = [];
  received = 0;
  ended = false;
  /** While true, write callbacks wait for flush(). */
  held = false;
  private waiting: (() => void)[] = [];

  constructor(highWaterMark = 16 * 1024) {
    super({ highWaterMark });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.chunks.push(chunk);
    this.received += chunk.length;
    if (this.held) this.waiting.push(done);
    else done();
  }

  override _final(done: () => void): void {
    this.ended = true;
    done();
  }

  /** Completes every held write and stops holding. */
  flush(): void {
    this.held = false;
    const waiting = this.waiting;
    this.waiting = [];
    for (const done of waiting) done();
  }

  /** Everything received, in order. */
  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** A source (a PassThrough read through 'data' events) -> stages -> a collecting sink. */
export function testDirection(stages: Stage[], options: { windowBytes?: number; now: () => number; sink?: CollectingSink; budget?: MemoryBudget }): {
  source: PassThrough;
  sink: CollectingSink;
  direction: Direction;
} {
  const source = new PassThrough({ highWaterMark: 16 * 1024 });
  const sink = options.sink ?? new CollectingSink();
  const direction = new Direction({
    reader: new StreamReader(source),
    sink,
    stages,
    window: new DirectionWindow({ windowBytes: options.windowBytes ?? 64 * 1024, ...(options.budget ? { budget: options.budget } : {}) }),
    now: options.now,
  });
  direction.start();
  return { source, sink, direction };
}

/** Writes `pieces` into `source` honouring its backpressure, starting on the next tick; ends it when `end`. */
export function feed(source: PassThrough, pieces: Buffer[], end = true): Promise<void> {
  return new Promise((resolve) => {
    process.nextTick(async () => {
      for (const piece of pieces) if (!source.write(piece)) await new Promise((r) => source.once('drain', r));
      if (end) source.end();
      resolve();
    });
  });
}

/** A pass-through stage that remembers what it was wired to; `takesLeases` false makes it one that keeps what it is given (it is then handed copies). */
export class ProbeStage implements Stage {
  readonly heldBytes = 0;
  context!: StageContext;
  constructor(readonly takesLeases = true) {}
  attach(context: StageContext): void {
    this.context = context;
  }
  write(chunk: Buffer, lender: Lender | null): void {
    this.context.next.write(chunk, lender);
  }
  end(): void {
    this.context.next.end();
  }
  close(): void {}
}
