/**
 * Issue 5's message strategies: a producer pushes numbered lines as fast as it is let into a
 * relay in message mode, toward a target that reads nothing at first; then the target reads
 * everything and checks every line (whole, sent, in order).
 *
 *   producer (lines, then FIN) --> [relay under test: --messages lines --overflow P] --> target (paused, then reads)
 *
 * The caller brings the relay with its policy, the lines, when the target starts reading (after
 * some real time, or when the caller says) and which processes' RSS to watch, and judges from
 * what comes back plus what it reads off the relay (drops, pauses, spill).
 */
import { createServer, type Socket } from 'node:net';
import { LineChecker } from './harness/numbered-lines.js';
import { measureRss } from './harness/proc-stats.js';
import { sha256 } from './harness/random.js';
import type { Scope } from './harness/scope.js';
import { connect, KiB, listen, now, within, writeAllAndEnd } from './harness/sockets.js';

/** The producer, for a caller deciding when the target may read. */
export interface Producer {
  socket: Socket;
  /** Resolves (performance.now()) once every byte has left the producer and its FIN is written. */
  finished: Promise<number>;
}

/** What to run: see the module comment. */
export interface MessageBurstOptions {
  /** Owns the target, the producer and the timer. */
  scope: Scope;
  /** Starts the relay under test in front of `targetPort`; resolves with where the producer connects and which processes' RSS to watch. */
  start(targetPort: number): Promise<{ port: number; pids?: number[] }>;
  /** numberedLines(): the bytes and how many lines they are. */
  lines: { payload: Buffer; count: number };
  /** The target starts reading `afterMs` after it accepted (real time), or once `when` resolves. */
  readFrom: { afterMs: number } | { when(producer: Producer): Promise<void> };
  /** Bytes per write() (default 64 KiB). */
  writeBytes?: number;
  /** How long the producer may take to finish, and the target to see its FIN, once reading (default 30 s each). */
  timeoutMs?: number;
}

/** What happened; times in ms after the producer connected. */
export interface MessageBurstObservations {
  /** Lines that reached the target, the last one's number, and the first one that was not whole, sent and in order. */
  delivered: number;
  lastSeq: number;
  problem: string | null;
  /** Every byte sent arrived, in order (sha256 of the whole stream). */
  intact: boolean;
  bytesReceived: number;
  /** Every byte had left the producer. */
  producerDoneMs: number;
  /** The target started reading. */
  readFromMs: number;
  /** The target saw the producer's FIN. */
  allDeliveredMs: number;
  /** Per watched process: peak RSS minus the baseline taken 200 ms after start, and the baseline (bytes). */
  rssGrowthBytes: number[];
  rssBaselineBytes: number[];
}

/** Runs the burst once; see the module comment. */
export async function messageBurst(opts: MessageBurstOptions): Promise<MessageBurstObservations> {
  const { scope, readFrom } = opts;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const checker = new LineChecker();
  let readFromAt = 0;
  let accept!: (socket: Socket) => void;
  const accepted = new Promise<Socket>((resolve) => (accept = resolve));
  let targetEnded!: (at: number) => void;
  const ended = new Promise<number>((resolve) => (targetEnded = resolve));
  const startReading = (socket: Socket): void => {
    readFromAt = now();
    socket.on('data', (d: Buffer) => checker.push(d));
    socket.once('end', () => {
      targetEnded(now());
      socket.end();
    });
    socket.resume();
  };
  let taken = false;
  const target = scope.server(
    createServer({ allowHalfOpen: true }, (socket) => {
      if (taken) return void socket.destroy();
      taken = true;
      socket.pause();
      if ('afterMs' in readFrom) scope.timeout(() => startReading(socket), readFrom.afterMs);
      accept(socket);
    }),
  );
  const { port, pids = [] } = await opts.start(await listen(target));

  const { result, growthBytes, baselineBytes } = await measureRss(pids, async () => {
    const socket = await connect(scope, port);
    const started = now();
    const finished = writeAllAndEnd(socket, opts.lines.payload, opts.writeBytes ?? 64 * KiB);
    finished.catch(() => {}); // awaited below; must not be unhandled meanwhile
    socket.resume(); // the relay sends nothing back but its FIN
    const targetSide = await accepted;
    if ('when' in readFrom) {
      await readFrom.when({ socket, finished });
      startReading(targetSide);
    }
    const finishAt = await within(finished, timeoutMs + ('afterMs' in readFrom ? readFrom.afterMs : 0));
    if (finishAt === null) throw new Error(`the producer did not finish within ${timeoutMs} ms of the target reading`);
    const endAt = await within(ended, timeoutMs);
    if (endAt === null) throw new Error(`the target did not see the producer's FIN within ${timeoutMs} ms`);
    return { started, finishAt, endAt };
  }, pids.length > 0 ? 200 : 0);
  const digest = checker.finish();
  return {
    delivered: checker.delivered,
    lastSeq: checker.lastSeq,
    problem: checker.problem,
    intact: digest === sha256(opts.lines.payload),
    bytesReceived: checker.bytes,
    producerDoneMs: result.finishAt - result.started,
    readFromMs: readFromAt - result.started,
    allDeliveredMs: result.endAt - result.started,
    rssGrowthBytes: growthBytes,
    rssBaselineBytes: baselineBytes,
  };
}
