import type { Readable } from 'node:stream';
import type { Lender, ReadTarget, SourceReader } from '../pipeline/index.js';
import { endError } from '../net/reset-probe.js';

/**
 * Reads any readable through its ordinary 'data' events (TLS, unix sockets, in-memory pairs,
 * and TCP sockets on `--read-path stream`). Chunks are the pipeline's to keep unless a `lender`
 * is given, which is then told when each chunk is no longer referenced.
 */
export class StreamReader implements SourceReader {
  private target: ReadTarget | null = null;
  private onFirstBytes: (() => void) | null = null;

  constructor(
    private readonly source: Readable,
    private readonly lender: Lender | null = null,
  ) {}

  start(target: ReadTarget): void {
    this.stopAwaiting();
    this.target = target;
    this.source.on('data', this.onData);
    // A client that half-closed while it waited for a slot emitted its 'end' before anyone listened.
    // on(), not once(): 'end' comes once, and once() costs a wrapper per stream.
    if (this.source.readableEnded) queueMicrotask(this.onEnd);
    else this.source.on('end', this.onEnd);
  }

  pause(): void {
    this.source.pause();
  }

  resume(): void {
    this.source.resume();
  }

  stop(): void {
    this.stopAwaiting();
    this.source.off('data', this.onData);
    this.source.off('end', this.onEnd);
    this.target = null;
  }

  awaitFirstBytes(onFirstBytes: () => void): void {
    this.onFirstBytes = onFirstBytes;
    this.source.once('readable', onFirstBytes);
    this.source.read(0);
  }

  // A 'readable' listener would keep the stream from flowing once the direction starts.
  stopAwaiting(): void {
    if (this.onFirstBytes) this.source.off('readable', this.onFirstBytes);
    this.onFirstBytes = null;
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.target) this.target.deliver(chunk, this.lender);
    else this.lender?.giveBack(chunk, false);
  };

  private readonly onEnd = (): void => {
    // A reset that arrived behind unread data is reported by libuv as an end (see reset-probe.ts):
    // passed on as a FIN it would make a cut-short transfer look complete.
    const reset = endError(this.source);
    if (reset) {
      this.source.destroy(reset);
      return;
    }
    this.target?.end();
  };
}
