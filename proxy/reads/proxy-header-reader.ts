import { ProxyHeaderDecoder } from '../../windowing/proxy-protocol/decoder.js';
import type { ProxyHeader } from '../../windowing/proxy-protocol/header.js';
import type { ProxyHeaderError } from '../../windowing/proxy-protocol/errors.js';
import type { Holdable, Lender, ReadTarget, SourceReader } from '../pipeline/index.js';

/** How reading a PROXY header ended. */
export type ProxyHeaderOutcome = { header: ProxyHeader } | { error: ProxyHeaderError };

/**
 * Reads the PROXY header at the start of a connection (`--accept-proxy`), then reads on for the
 * direction like the reader it wraps. Nothing of the connection goes anywhere before the whole
 * header has arrived, however it is split across reads: until the direction starts, what follows
 * the header (and an end of input) is kept, the source paused, and handed over first on start().
 *
 *   readHeader(done): inner --chunks--> ProxyHeaderDecoder --header--> done, inner paused, rest kept
 *   start(target):    kept rest (+ end) --> target, then inner --chunks--> target (leases pass through)
 */
export class ProxyHeaderReader implements SourceReader {
  readonly deliversBursts: boolean | undefined;
  private readonly decoder = new ProxyHeaderDecoder();
  private target: ReadTarget | null = null;
  private kept: Buffer[] = [];
  private ended = false;
  private reading = false;
  private onOutcome: ((outcome: ProxyHeaderOutcome) => void) | null = null;
  private onFirstBytes: (() => void) | null = null;
  private readonly relay: ReadTarget;
  private readonly innerValve: Holdable = { hold: () => this.inner.pause(), release: () => this.inner.resume() };

  constructor(private readonly inner: SourceReader) {
    this.deliversBursts = inner.deliversBursts;
    const reader = this;
    this.relay = {
      deliver: (chunk, lender) => reader.onChunk(chunk, lender),
      end: () => reader.onEnd(),
      // Until the direction starts, chunks are copied (kept); then its own answers hold.
      get takesLeases() {
        return reader.target?.takesLeases ?? false;
      },
      // Until the direction starts nothing is lent (chunks are copied), so a reader has no block
      // to wait for; should it hold anyway, the inner reader is paused and resumed directly.
      get valve() {
        return reader.target?.valve ?? reader.innerValve;
      },
    };
  }

  /** Starts reading the header; `done` is called once, with the header or why there is none. */
  readHeader(done: (outcome: ProxyHeaderOutcome) => void): void {
    this.onOutcome = done;
    this.reading = true;
    this.inner.start(this.relay);
    this.inner.resume();
  }

  /** The header deadline passed: the outcome is a typed error (ProxyHeaderIncompleteError). */
  expire(): void {
    if (this.onOutcome) this.settle({ error: this.decoder.end('deadline') });
  }

  start(target: ReadTarget): void {
    // From now on the inner reader's chunks go straight to the direction, leases and all.
    this.target = target;
    const kept = this.kept;
    this.kept = [];
    for (const chunk of kept) target.deliver(chunk, null);
    if (this.ended) target.end();
  }

  pause(): void {
    this.inner.pause();
  }

  resume(): void {
    if (!this.ended) this.inner.resume();
  }

  stop(): void {
    this.onOutcome = null;
    this.onFirstBytes = null;
    this.target = null;
    this.kept = [];
    this.inner.stop();
  }

  awaitFirstBytes(onFirstBytes: () => void): void {
    if (this.kept.length > 0 || this.ended) return onFirstBytes();
    this.onFirstBytes = onFirstBytes;
    this.inner.resume();
  }

  stopAwaiting(): void {
    this.onFirstBytes = null;
  }

  private settle(outcome: ProxyHeaderOutcome): void {
    const done = this.onOutcome;
    this.onOutcome = null;
    this.reading = false;
    if (!this.target) this.inner.pause();
    done?.(outcome);
  }

  // What the inner reader delivers to: the decoder until the header is whole, then the kept
  // bytes until the direction starts, then the direction itself.
  private onChunk(chunk: Buffer, lender: Lender | null): void {
    if (this.target) return this.target.deliver(chunk, lender);
    if (this.reading) {
      const result = this.decoder.push(chunk);
      if (result.kind === 'header') {
        if (result.rest.length > 0) this.kept.push(Buffer.from(result.rest));
        this.settle({ header: result.header });
      } else if (result.kind === 'error') this.settle({ error: result.error });
    } else if (this.onOutcome === null) {
      this.kept.push(Buffer.from(chunk));
      if (this.onFirstBytes) {
        const heard = this.onFirstBytes;
        this.onFirstBytes = null;
        this.inner.pause();
        heard();
      }
    }
    // Copied (or judged) at once: the chunk is no longer needed.
    lender?.giveBack(chunk, true);
  }

  private onEnd(): void {
    if (this.target) return this.target.end();
    this.ended = true;
    if (this.reading) this.settle({ error: this.decoder.end('end') });
    else if (this.onFirstBytes) {
      const heard = this.onFirstBytes;
      this.onFirstBytes = null;
      heard();
    }
  }
}
