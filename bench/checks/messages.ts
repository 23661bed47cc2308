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
import { numberedLines } from '../../scenarios/harness/numbered-lines.js';
import { startRelay } from '../../scenarios/harness/sluice.js';
import { MB } from '../../scenarios/harness/sockets.js';
import { messageBurst } from '../../scenarios/message-burst.js';
import { httpGet, metricSamples, round } from './support.js';
import { verdict, type CheckContext, type Figure, type Scenario } from './types.js';

const STALL_MS = 2500;
/** Drop and block: well past the window plus what the kernel's socket buffers can hold on loopback. */
const BURST_BYTES = 48 * MB;
const SPILL_BYTES = 96 * MB;
const MAX_SPILL_GROWTH_MB = 48;

type Policy = 'drop-newest' | 'drop-oldest' | 'block' | 'spill';

export const messagesScenario: Scenario = {
  name: 'messages',
  issue: 'issue 5',
  lines: ['messages/drop-newest', 'messages/drop-oldest', 'messages/block', 'messages/spill'],
  async run(ctx) {
    const burst = numberedLines({ bytes: BURST_BYTES });
    // One relay per policy, stopped before the next starts.
    for (const policy of ['drop-newest', 'drop-oldest', 'block'] as const) await ctx.attempt(`messages/${policy}`, (scope) => runPolicy({ ...ctx, scope }, policy, burst));
    await ctx.attempt('messages/spill', (scope) => runPolicy({ ...ctx, scope }, 'spill', numberedLines({ bytes: SPILL_BYTES })));
  },
};

async function runPolicy({ scope, sluice, report, log }: CheckContext, policy: Policy, sent: { payload: Buffer; count: number }): Promise<void> {
  const name = `messages/${policy}`;
  log(`${name}: ${sent.count} lines (${round(sent.payload.length / MB)} MB), target paused ${STALL_MS} ms`);
  const args = ['--messages', 'lines', '--window', '64KiB', '--overflow', policy];
  if (policy === 'spill') args.push('--spill-dir', scope.tempDir('spill'));
  let metricsPort = 0;
  const seen = await messageBurst({
    scope,
    start: async (targetPort) => {
      const relay = await startRelay(scope, sluice, targetPort, args, { metrics: true });
      metricsPort = relay.metricsPort!;
      return { port: relay.port, pids: [relay.pid] };
    },
    lines: sent,
    readFrom: { afterMs: STALL_MS },
    timeoutMs: 30_000,
  });
  const { body } = await httpGet(metricsPort, '/metrics');
  const dropped = metricSamples(body, 'sluice_messages_dropped_total');
  // Which reasons counted drops (the count is the sum, `dropped`); more than one would be a finding.
  const droppedReasons = Object.entries(dropped.byLabels)
    .filter(([, v]) => v > 0)
    .map(([labels, v]) => `${labels.replace(/^\{reason="(.*)"\}$/, '$1')}${Object.keys(dropped.byLabels).filter((k) => dropped.byLabels[k]! > 0).length > 1 ? `:${v}` : ''}`)
    .join(',');
  const pauses = metricSamples(body, 'sluice_pauses_total').byLabels['{direction="client_to_target"}'] ?? 0;
  const spilled = metricSamples(body, 'sluice_spill_bytes_total').sum;
  const growthMB = seen.rssGrowthBytes[0]! / MB;
  const producerDoneMs = seen.producerDoneMs;
  const readStartMs = seen.readFromMs;
  const notHeldBack = producerDoneMs < readStartMs;
  const intact = seen.intact;

  const figures: Record<string, Figure> = {
    sent: sent.count,
    delivered: seen.delivered,
    dropped: dropped.sum,
    ...(droppedReasons ? { droppedAs: droppedReasons } : {}),
    producerDoneMs: round(producerDoneMs),
    targetReadFromMs: round(readStartMs),
    deliveredAllByMs: round(seen.allDeliveredMs),
    pauses,
  };
  const failures: Array<string | false> = [seen.problem ?? false];
  let threshold: string;
  if (policy === 'drop-newest' || policy === 'drop-oldest') {
    figures.lastDelivered = seen.lastSeq;
    threshold = `whole, in order; delivered + dropped = sent; dropped > 0; producer done before the target reads, 0 pauses${policy === 'drop-oldest' ? '; last message delivered' : ''}`;
    failures.push(
      seen.delivered + dropped.sum !== sent.count && `delivered + dropped = ${seen.delivered + dropped.sum}, sent ${sent.count}`,
      dropped.sum === 0 && 'nothing was dropped: the overflow never happened',
      pauses !== 0 && `the relay paused reading the producer ${pauses} times`,
      !notHeldBack && `the producer finished at ${round(producerDoneMs)} ms, after the target started reading at ${round(readStartMs)} ms`,
      policy === 'drop-oldest' && seen.lastSeq !== sent.count - 1 && `the last message delivered is ${seen.lastSeq}, not ${sent.count - 1}`,
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
      !intact && `the target got ${seen.bytesReceived} bytes (${seen.delivered} messages), sent ${sent.payload.length} (${sent.count}), or they differ`,
      dropped.sum !== 0 && `${dropped.sum} dropped`,
    );
  }
  figures.rssGrowthMB = round(growthMB);
  report(verdict(name, figures, threshold, failures));
}
