import type { Lender } from '../pipeline/index.js';
import { StreamReader } from '../reads/stream-reader.js';
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
export class CreditReader extends StreamReader {
  /** The pieces one link read carries for this stream go out to the sink in one writev. */
  readonly deliversBursts = true;

  constructor(stream: TunnelStream) {
    if (stream.credit !== 'manual') throw new RangeError(`a CreditReader needs a stream in 'manual' credit mode, this one is '${stream.credit}'`);
    super(stream, new StreamCredit(stream));
  }
}

// One small object per stream with its methods on the prototype (an object literal of two
// closures cost about 250 bytes per idle stream).
class StreamCredit implements Lender {
  constructor(private readonly stream: TunnelStream) {}

  giveBack(chunk: Buffer, consumed: boolean): void {
    // The sink no longer needs the bytes: a pooled link read buffer may be read into again.
    this.stream.releaseChunk(chunk);
    if (consumed && !this.stream.destroyed) this.stream.acknowledge(chunk.length);
  }

  slackOf(): number {
    return 0;
  }
}
