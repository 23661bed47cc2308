/**
 * Issue 5, the message strategies:
 *
 *   "With `--messages lines --window 64KiB` and a target that reads nothing for 2.5 s:
 *    drop-newest and drop-oldest deliver only whole, in-order messages, delivered +
 *    `sluice_messages_dropped_total` equals sent, the producer is never held back, and
 *    drop-oldest delivers the last message; block drops nothing and holds the producer back;
 *    spill absorbs ~96 MB with nothing lost or reordered, the producer not held back, and RSS
 *    growth at most 48 MB."
 *
 *   producer (N lines, as fast as allowed, then FIN)
 *     --> sluice relay --messages lines --window 64KiB --overflow P --metrics ...
 *     --> target (paused 2.5 s from accept, then reads everything and checks every line)
 *
 * One fresh relay per policy, one line each. Readings chosen where the text leaves room:
 * - "held back" is judged by time: the producer was not held back when its last byte left it
 *   ('finish') before the target started reading; it was held back when that came after.
 * - a message is "whole" when it is exactly the line that was sent with that sequence number
 *   (each line `<seq> <letter x length>`, length and letter derived from seq), and the stream
 *   ends on a line boundary; "in order" = sequence numbers strictly increase.
 * - `sluice_messages_dropped_total` is summed over every `reason` label, as the text names the
 *   metric, not one reason; it is read from /metrics after the target saw the FIN.
 * - drop-*: stricter than the text, dropped must be > 0 (otherwise nothing was tested), and
 *   "never held back" also needs the relay's own count of pauses toward the producer
 *   (`sluice_pauses_total{direction="client_to_target"}`) to stay 0. Spill's "not held back"
 *   is judged by time alone: it may pause briefly while a write batch reaches the disk.
 * - block and spill: "nothing lost or reordered" = the target received exactly the bytes sent
 *   (sha256) and /metrics counts 0 dropped.
 * - spill: ~96 MB is 96e6 bytes of lines; RSS is VmRSS of the relay process (peak during minus
 *   baseline 200 ms after ready), like the relay check; the spill directory is a fresh temp dir.
 * RSS growth and the metrics are printed for every policy; only spill has a limit on RSS.
 */
import { createHash } from 'node:crypto';
import net from 'node:net';
import { RssSampler } from '../../scenarios/harness/proc-stats.js';
import { startRelay } from '../../scenarios/harness/sluice.js';
import { connect, delay, listen, MB, now, writeAllAndEnd } from '../../scenarios/harness/sockets.js';
import { metricSamples, httpGet, round } from './support.js';
import { verdict, type CheckContext, type Figure, type Scenario } from './types.js';

const STALL_MS = 2500;
/** Drop and block: well past the window plus what the kernel's socket buffers can hold on loopback. */
const BURST_BYTES = 48 * MB;
const SPILL_BYTES = 96 * MB;
const MAX_SPILL_GROWTH_MB = 48;

type Policy = 'drop-newest' | 'drop-oldest' | 'block' | 'spill';

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

/** Line `seq` without its newline: "<seq> " then one letter repeated, 100..699 bytes of filler. */
function lineBody(seq: number): string {
  return `${seq} ${LETTERS[seq % 26]!.repeat(100 + ((seq * 7919) % 600))}`;
}

/** Whole lines, at least `bytes` in total. */
function linesOf(bytes: number): { payload: Buffer; count: number } {
  const parts: string[] = [];
  let size = 0;
  let seq = 0;
  while (size < bytes) {
    const line = `${lineBody(seq++)}\n`;
    parts.push(line);
    size += line.length;
  }
  return { payload: Buffer.from(parts.join(''), 'latin1'), count: seq };
}

/** Checks a received stream line by line as it arrives: whole, known, strictly increasing. */
class LineChecker {
  delivered = 0;
  lastSeq = -1;
  bytes = 0;
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

  /** At the end: a partial last line is a broken message. */
  finish(): string {
    if (this.leftover && !this.problem) this.problem = `the stream ends inside a message (${this.leftover.length} bytes after the last newline)`;
    return this.hash.digest('hex');
  }
}

export const messagesScenario: Scenario = {
  name: 'messages',
  issue: 'issue 5',
  lines: ['messages/drop-newest', 'messages/drop-oldest', 'messages/block', 'messages/spill'],
  async run(ctx) {
    const burst = linesOf(BURST_BYTES);
    // One relay per policy, stopped before the next starts.
    for (const policy of ['drop-newest', 'drop-oldest', 'block'] as const) await ctx.attempt(`messages/${policy}`, (scope) => runPolicy({ ...ctx, scope }, policy, burst));
    await ctx.attempt('messages/spill', (scope) => runPolicy({ ...ctx, scope }, 'spill', linesOf(SPILL_BYTES)));
  },
};

async function runPolicy({ scope, sluice, report, log }: CheckContext, policy: Policy, sent: { payload: Buffer; count: number }): Promise<void> {
  const name = `messages/${policy}`;
  log(`${name}: ${sent.count} lines (${round(sent.payload.length / MB)} MB), target paused ${STALL_MS} ms`);
  const checker = new LineChecker();
  let acceptedAt = 0;
  let readStartAt = 0;
  let settle!: (at: number) => void;
  const targetEnded = new Promise<number>((resolve) => (settle = resolve));
  const target = scope.server(
    net.createServer({ allowHalfOpen: true }, (socket) => {
      if (acceptedAt > 0) return void socket.destroy();
      acceptedAt = now();
      socket.pause();
      scope.timeout(() => {
        readStartAt = now();
        socket.on('data', (d: Buffer) => checker.push(d));
        socket.once('end', () => {
          settle(now());
          socket.end();
        });
        socket.resume();
      }, STALL_MS);
    }),
  );
  const args = ['--messages', 'lines', '--window', '64KiB', '--overflow', policy];
  if (policy === 'spill') args.push('--spill-dir', scope.tempDir('spill'));
  const relay = await startRelay(scope, sluice, await listen(target), args, { metrics: true });
  const sampler = new RssSampler([relay.pid], 50);
  await delay(200);
  const baseline = await sampler.startFromBaseline();

  const started = now();
  let finishAt: number;
  let endAt: number;
  try {
    const producer = await connect(scope, relay.port);
    const timeoutMs = STALL_MS + 30_000;
    const timeout = <T>(p: Promise<T>, what: string): Promise<T> => {
      let timer: NodeJS.Timeout | undefined;
      return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} not within ${timeoutMs / 1000} s`)), timeoutMs)))]).finally(() =>
        clearTimeout(timer),
      );
    };
    finishAt = await timeout(writeAllAndEnd(producer, sent.payload), 'the producer finishing');
    producer.resume();
    endAt = await timeout(targetEnded, "the target seeing the producer's FIN");
  } finally {
    await sampler.stop();
  }
  const digest = checker.finish();
  const { body } = await httpGet(relay.metricsPort!, '/metrics');
  const dropped = metricSamples(body, 'sluice_messages_dropped_total');
  // Which reasons counted drops (the count is the sum, `dropped`); more than one would be a finding.
  const droppedReasons = Object.entries(dropped.byLabels)
    .filter(([, v]) => v > 0)
    .map(([labels, v]) => `${labels.replace(/^\{reason="(.*)"\}$/, '$1')}${Object.keys(dropped.byLabels).filter((k) => dropped.byLabels[k]! > 0).length > 1 ? `:${v}` : ''}`)
    .join(',');
  const pauses = metricSamples(body, 'sluice_pauses_total').byLabels['{direction="client_to_target"}'] ?? 0;
  const spilled = metricSamples(body, 'sluice_spill_bytes_total').sum;
  const growthMB = (sampler.peakBytes - baseline) / MB;
  const producerDoneMs = finishAt - started;
  const readStartMs = readStartAt - started;
  const notHeldBack = finishAt < readStartAt;
  const intact = digest === createHash('sha256').update(sent.payload).digest('hex');

  const figures: Record<string, Figure> = {
    sent: sent.count,
    delivered: checker.delivered,
    dropped: dropped.sum,
    ...(droppedReasons ? { droppedAs: droppedReasons } : {}),
    producerDoneMs: round(producerDoneMs),
    targetReadFromMs: round(readStartMs),
    deliveredAllByMs: round(endAt - started),
    pauses,
  };
  const failures: Array<string | false> = [checker.problem ?? false];
  let threshold: string;
  if (policy === 'drop-newest' || policy === 'drop-oldest') {
    figures.lastDelivered = checker.lastSeq;
    threshold = `whole, in order; delivered + dropped = sent; dropped > 0; producer done before the target reads, 0 pauses${policy === 'drop-oldest' ? '; last message delivered' : ''}`;
    failures.push(
      checker.delivered + dropped.sum !== sent.count && `delivered + dropped = ${checker.delivered + dropped.sum}, sent ${sent.count}`,
      dropped.sum === 0 && 'nothing was dropped: the overflow never happened',
      pauses !== 0 && `the relay paused reading the producer ${pauses} times`,
      !notHeldBack && `the producer finished at ${round(producerDoneMs)} ms, after the target started reading at ${round(readStartMs)} ms`,
      policy === 'drop-oldest' && checker.lastSeq !== sent.count - 1 && `the last message delivered is ${checker.lastSeq}, not ${sent.count - 1}`,
    );
  } else {
    figures.sha256 = intact ? 'ok' : 'MISMATCH';
    if (policy === 'block') {
      threshold = 'all delivered (sha256), 0 dropped; producer held back (done after the target starts reading)';
      failures.push(notHeldBack && `the producer finished at ${round(producerDoneMs)} ms, before the target started reading at ${round(readStartMs)} ms: not held back`);
    } else {
      figures.spilledMB = round(spilled / MB);
      threshold = `all delivered in order (sha256), 0 dropped; producer done before the target reads; RSS growth <= ${MAX_SPILL_GROWTH_MB} MB`;
      failures.push(
        !notHeldBack && `the producer finished at ${round(producerDoneMs)} ms, after the target started reading at ${round(readStartMs)} ms`,
        growthMB > MAX_SPILL_GROWTH_MB && `RSS grew by ${round(growthMB)} MB`,
      );
    }
    failures.push(
      !intact && `the target got ${checker.bytes} bytes (${checker.delivered} messages), sent ${sent.payload.length} (${sent.count}), or they differ`,
      dropped.sum !== 0 && `${dropped.sum} dropped`,
    );
  }
  figures.rssGrowthMB = round(growthMB);
  report(verdict(name, figures, threshold, failures));
}
