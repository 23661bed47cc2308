import type { Lender, ReadTarget, SourceReader } from '../pipeline/index.js';
import type { TunnelStream } from './stream.js';

/**
 * Reads a tunnel stream in 'manual' credit mode. Every chunk is lent to the pipeline: given back
 * once the sink flushed it (or a stage dropped it), it is acknowledged to the stream, which is
 * what earns the peer new credit, and its pooled link read buffer may be read into again. A slow
 * sink therefore closes the stream's window all the way back to the producer, and what is held
 * here is bounded by that window, whatever the peer does.
 *
 *   link --frames--> TunnelStream --'data'--> pipeline --> sink (flushed)
 *     ^                                                        |
 *     +------ window update <-- stream.acknowledge(n) <-- giveBack(chunk)
 */
export class CreditReader implements SourceReader, Lender {
  /** The pieces one link read carries for this stream go out to the sink in one writev. */
  readonly deliversBursts = true;
  private target: ReadTarget | null = null;
  private onFirstBytes: (() => void) | null = null;

  constructor(private readonly stream: TunnelStream) {
    if (stream.credit !== 'manual') throw new RangeError(`a CreditReader needs a stream in 'manual' credit mode, this one is '${stream.credit}'`);
  }

  start(target: ReadTarget): void {
    this.stopAwaiting();
    this.target = target;
    this.stream.on('data', this.onData);
    this.stream.once('end', this.onEnd);
  }

  pause(): void {
    this.stream.pause();
  }

  resume(): void {
    this.stream.resume();
  }

  stop(): void {
    this.stopAwaiting();
    this.stream.off('data', this.onData);
    this.stream.off('end', this.onEnd);
    this.target = null;
  }

  awaitFirstBytes(onFirstBytes: () => void): void {
    this.onFirstBytes = onFirstBytes;
    this.stream.once('readable', onFirstBytes);
    this.stream.read(0);
  }

  stopAwaiting(): void {
    if (this.onFirstBytes) this.stream.off('readable', this.onFirstBytes);
    this.onFirstBytes = null;
  }

  giveBack(chunk: Buffer, consumed: boolean): void {
    // The sink no longer needs the bytes: a pooled link read buffer may be read into again.
    this.stream.releaseChunk(chunk);
    if (consumed && !this.stream.destroyed) this.stream.acknowledge(chunk.length);
  }

  slackOf(): number {
    return 0;
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.target) this.target.deliver(chunk, this);
    else this.giveBack(chunk, false);
  };

  private readonly onEnd = (): void => {
    this.target?.end();
  };
}
