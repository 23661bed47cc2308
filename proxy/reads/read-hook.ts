import { LIGHT_VIEW } from './read-buffers.js';

/** Receives reads that landed in a hook's buffer; returns false to stop reading. */
export interface ReadSink {
  onRead(bytes: number, buffer: Buffer): boolean;
}

/**
 * The `onread` option of a net.Socket, created before the socket so the socket reads into
 * buffers we choose (see read-buffers.ts). A reader binds to it once the direction starts; reads
 * that arrive before that are copied aside and reading stops until a reader takes over.
 *
 * Node asks for the buffer of the next read when a read returns (and once when the socket gets
 * its handle), so whatever `next` is then is where the kernel writes next, until the next read.
 */
export class ReadHook {
  /** The buffer the next read lands in; a view of LANDING (a small read) until a reader moves it to a block. */
  next: Buffer = LIGHT_VIEW;
  private sink: ReadSink | null = null;
  // Made on the first early read: most sockets have none.
  private early: Buffer[] | null = null;
  /** Called on the first read that arrives before a reader binds (the peer said something). */
  onEarly: (() => void) | null = null;

  /** Node asks for the buffer of the next read (a plain call, no `this`: hence a closure). */
  readonly buffer = (): Buffer => this.next;

  /** Node hands over each read; false stops reading. */
  readonly callback = (bytes: number, buffer: Buffer): boolean => {
    if (this.sink) return this.sink.onRead(bytes, buffer);
    (this.early ??= []).push(Buffer.from(buffer.subarray(0, bytes)));
    if (this.early.length === 1) this.onEarly?.();
    return false;
  };

  /** Pass this as `onread` to `net.connect` / `new net.Socket`: the hook itself (no object more per socket). */
  get onread(): { buffer: () => Buffer; callback: (bytes: number, buffer: Buffer) => boolean } {
    return this;
  }

  /** Routes reads to `sink` and returns what arrived before it (already copied). */
  bind(sink: ReadSink): Buffer[] {
    this.sink = sink;
    this.onEarly = null;
    const early = this.early ?? NO_READS;
    this.early = null;
    return early;
  }

  /** Stops routing reads; later ones are kept aside again. */
  unbind(): void {
    this.sink = null;
  }
}

const NO_READS: Buffer[] = [];
