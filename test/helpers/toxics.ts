import { PassThrough } from 'node:stream';
import type sinon from 'sinon';
import { DirectionWindow, type MemoryBudget } from '../../windowing/index.js';
import { Direction, type Stage } from '../../proxy/pipeline/index.js';
import { StreamReader } from '../../proxy/reads/stream-reader.js';
import { CollectingSink } from './pipeline.js';

/** A collecting sink that notes the fake clock's time of every write and of the end. */
export class TimedSink extends CollectingSink {
  /** One entry per write the sink took: when, and how many bytes. */
  readonly arrivals: { atMs: number; bytes: number }[] = [];
  endedAtMs: number | null = null;

  constructor(private readonly now: () => number) {
    super(1 << 20);
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, done: () => void): void {
    this.arrivals.push({ atMs: this.now(), bytes: chunk.length });
    super._write(chunk, encoding, done);
  }

  override _final(done: () => void): void {
    this.endedAtMs = this.now();
    super._final(done);
  }

  /** Bytes received by `atMs` (inclusive). */
  receivedBy(atMs: number): number {
    return this.arrivals.filter((a) => a.atMs <= atMs).reduce((sum, a) => sum + a.bytes, 0);
  }
}

/** What the stages of a toxic direction asked of the connection, and when. */
export interface ConnectionCalls {
  closes: { why: string; atMs: number }[];
  resets: { why: string; atMs: number }[];
}

/**
 * A live Direction on the fake clock: a PassThrough source read through 'data' events (so the
 * Valve's pause shows as source.isPaused()), `stages`, a TimedSink; the connection's close and reset
 * are recorded (close also finishes the direction, as the relay does).
 */
export function toxicDirection(
  clock: sinon.SinonFakeTimers,
  stages: Stage[],
  options: { windowBytes?: number; budget?: MemoryBudget } = {},
): { direction: Direction; source: PassThrough; sink: TimedSink; calls: ConnectionCalls; deliver: (bytes: Buffer | number) => void } {
  const source = new PassThrough({ highWaterMark: 16 * 1024 });
  const sink = new TimedSink(() => clock.now);
  const calls: ConnectionCalls = { closes: [], resets: [] };
  const direction: Direction = new Direction({
    reader: new StreamReader(source),
    sink,
    stages,
    window: new DirectionWindow({ windowBytes: options.windowBytes ?? 64 * 1024, ...(options.budget ? { budget: options.budget } : {}) }),
    now: () => clock.now,
    connection: {
      close: (why) => {
        calls.closes.push({ why, atMs: clock.now });
        queueMicrotask(() => direction.finish());
      },
      reset: (why) => calls.resets.push({ why, atMs: clock.now }),
    },
  });
  direction.start();
  // Straight into the direction, as a reader delivers: the arrival time is exactly the clock's now.
  const deliver = (bytes: Buffer | number) => direction.deliver(typeof bytes === 'number' ? Buffer.alloc(bytes, 0x61) : bytes, null);
  return { direction, source, sink, calls, deliver };
}

/** Lets real I/O, ticks and microtasks run (setImmediate is never faked here). */
export async function turns(n = 5): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

/** Advances the fake clock by `ms` and lets what that woke settle. */
export async function advance(clock: sinon.SinonFakeTimers, ms: number): Promise<void> {
  await clock.tickAsync(ms);
  await turns();
}

/** Only setTimeout and clearTimeout are faked: I/O, setImmediate and nextTick stay real. */
export const TOXIC_FAKES = { toFake: ['setTimeout', 'clearTimeout'] as ('setTimeout' | 'clearTimeout')[] };

/** A random() that answers `values` in turn (then the last one forever). */
export function scripted(...values: number[]): () => number {
  let i = 0;
  return () => values[Math.min(i++, values.length - 1)]!;
}
