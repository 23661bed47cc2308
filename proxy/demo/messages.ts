/**
 * The demo's messages: one line each, `<seq> <createdAtMs> <padding>\n`, a fixed size so rates
 * in messages and in bytes say the same thing. The creation time rides in the message so the
 * consumer can measure end-to-end latency on the same clock.
 */

/** Bytes per message, newline included. */
export const MESSAGE_BYTES = 1024;

const PADDING = 'x'.repeat(MESSAGE_BYTES);

/** Encodes message `seq` created at `createdAtMs` (performance.now() clock). */
export function encodeMessage(seq: number, createdAtMs: number): string {
  const head = `${seq} ${createdAtMs.toFixed(3)} `;
  return head + PADDING.slice(0, MESSAGE_BYTES - head.length - 1) + '\n';
}

/** Reads the sequence number and creation time back from one line (without its newline). */
export function decodeMessage(line: string): { seq: number; createdAtMs: number } {
  const a = line.indexOf(' ');
  const b = line.indexOf(' ', a + 1);
  return { seq: Number(line.slice(0, a)), createdAtMs: Number(line.slice(a + 1, b)) };
}
