/**
 * Messages a receiver can check one by one: line `seq` is `<seq> ` then one letter repeated
 * (100..699 bytes of filler, letter and length derived from seq), then `\n`. A received line is
 * whole when it is exactly the line sent with its number; in order when the numbers increase.
 */
import { createHash } from 'node:crypto';

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

/** Line `seq` without its newline. */
export function lineBody(seq: number): string {
  return `${seq} ${LETTERS[seq % 26]!.repeat(100 + ((seq * 7919) % 600))}`;
}

/** Lines 0, 1, 2... as one buffer: `count` of them, or as many as make at least `bytes`. */
export function numberedLines(size: { count: number } | { bytes: number }): { payload: Buffer; count: number } {
  const parts: string[] = [];
  let bytes = 0;
  let seq = 0;
  const more = 'count' in size ? () => seq < size.count : () => bytes < size.bytes;
  while (more()) {
    const line = `${lineBody(seq++)}\n`;
    parts.push(line);
    bytes += line.length;
  }
  return { payload: Buffer.from(parts.join(''), 'latin1'), count: seq };
}

/** Checks a received stream line by line as it arrives: whole, known, strictly increasing. */
export class LineChecker {
  delivered = 0;
  lastSeq = -1;
  bytes = 0;
  /** The first thing wrong, if anything was. */
  problem: string | null = null;
  private readonly hash = createHash('sha256');
  private leftover: Buffer | null = null;

  push(chunk: Buffer): void {
    this.bytes += chunk.length;
    this.hash.update(chunk);
    const buf = this.leftover ? Buffer.concat([this.leftover, chunk]) : chunk;
    let start = 0;
    for (let nl = buf.indexOf(10, start); nl >= 0; nl = buf.indexOf(10, start)) {
      this.line(buf.subarray(start, nl));
      start = nl + 1;
    }
    this.leftover = start < buf.length ? Buffer.from(buf.subarray(start)) : null;
  }

  private line(line: Buffer): void {
    this.delivered++;
    if (this.problem) return;
    const text = line.toString('latin1');
    const seq = Number(text.slice(0, text.indexOf(' ')));
    if (!Number.isSafeInteger(seq) || text !== lineBody(seq)) {
      this.problem = `message ${this.delivered} is not a whole sent message: "${text.slice(0, 30)}..." (${text.length} bytes)`;
    } else if (seq <= this.lastSeq) {
      this.problem = `message ${seq} arrived after ${this.lastSeq}`;
    }
    this.lastSeq = seq;
  }

  /** At the end: a partial last line is a broken message. Returns the sha256 of everything received. */
  finish(): string {
    if (this.leftover && !this.problem) this.problem = `the stream ends inside a message (${this.leftover.length} bytes after the last newline)`;
    return this.hash.digest('hex');
  }
}
