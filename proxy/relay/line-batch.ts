/**
 * Lines gathered into one write: under connection churn a write per access-log line (a system
 * call each, stderr being synchronous on Linux) costs more than the formatting. Lines are kept in
 * order and written together once the batch holds `maxBytes`, `delayMs` after its first line, or
 * when flush() is called (on exit). Nothing is dropped: a line is pending or written.
 */
export interface LineBatchOptions {
  /** Where a batch goes: one call per batch, lines joined, each ending in a newline. */
  write: (text: string) => void;
  /** A batch this large (UTF-16 code units, about bytes for log lines) is written at once. Default 16 KiB. */
  maxBytes?: number;
  /** The longest a line waits for company. Default 20 ms. */
  delayMs?: number;
}

/** Default largest batch. */
export const LINE_BATCH_MAX_BYTES = 16 * 1024;
/** Default longest wait of a line. */
export const LINE_BATCH_DELAY_MS = 20;

/** Lines written in batches; see the module comment. */
export class LineBatch {
  private pending = '';
  private timer: NodeJS.Timeout | null = null;
  private readonly maxBytes: number;
  private readonly delayMs: number;

  constructor(private readonly options: LineBatchOptions) {
    this.maxBytes = options.maxBytes ?? LINE_BATCH_MAX_BYTES;
    this.delayMs = options.delayMs ?? LINE_BATCH_DELAY_MS;
  }

  /** Adds one line (without its newline). */
  push(line: string): void {
    this.pending += line + '\n';
    if (this.pending.length >= this.maxBytes) this.flush();
    else if (this.timer === null) {
      this.timer = setTimeout(this.flush, this.delayMs);
      // A pending line never keeps the process alive: exit flushes it.
      this.timer.unref();
    }
  }

  /** Writes what is pending now. */
  readonly flush = (): void => {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.pending === '') return;
    const text = this.pending;
    this.pending = '';
    this.options.write(text);
  };

  /** Characters waiting to be written. */
  get pendingBytes(): number {
    return this.pending.length;
  }
}
