/**
 * Issue 4's stall: connections share one tunnel, the target stalls the first one, and the others
 * must keep flowing meanwhile and arrive whole; the stalled one then arrives whole too.
 *
 *   1 + N TCP clients --> [tunnel under test] --> hashing target (first connection unread until released)
 *
 * The caller brings the tunnel (in process, or the CLI sidecars), the sizes, how the stall ends
 * (after some real time, or once the others are done) and which processes' RSS to watch, and makes
 * its own assertions from what comes back.
 */
import { measureRss } from './harness/proc-stats.js';
import { HashingTarget, parseSeen, type Seen } from './harness/hashing-target.js';
import { randomBytes, sha256 } from './harness/random.js';
import type { Scope } from './harness/scope.js';
import { connect, KiB, now, socketEnd, writeAllAndEnd } from './harness/sockets.js';

/** What to run: see the module comment. */
export interface TunnelStallOptions {
  /** Owns the target, the clients and the timer. */
  scope: Scope;
  /** Starts the tunnel in front of `targetPort`; resolves with where TCP clients connect and which processes' RSS to watch. */
  start(targetPort: number): Promise<{ port: number; pids?: number[] }>;
  stalledBytes: number;
  otherBytes: number;
  /** Connections that flow while the first is stalled (default 5, the issue's). */
  others?: number;
  /** How long the first connection stays unread from its accept (real time); without it, until the others are done and `whileStalled` has returned. */
  stallMs?: number;
  /** Runs once every other connection has its reply, if the first is still stalled then: a look inside the tunnel. */
  whileStalled?(): Promise<void> | void;
  /** Connection i sends randomBytes(size, seed + i). */
  seed: number;
  /** Bytes per write() (default 64 KiB). */
  writeBytes?: number;
  /** Wait before the RSS baselines (default 200 ms: a process just started still grows). */
  rssSettleMs?: number;
}

/** One connection: what it sent, what the target says it read, when (ms after the stall began). */
export interface StallConnection {
  sent: Seen;
  received: Seen;
  /** The client had the target's reply: the target had read it all, FIN included. */
  replyMs: number;
}

/** What happened; see TunnelStallOptions. */
export interface TunnelStallObservations {
  stalled: StallConnection;
  others: StallConnection[];
  /** When the target started reading the stalled connection (ms after the stall began). */
  releasedMs: number;
  /** Connections the target had read to their end when it released the stalled one. */
  finishedBeforeRelease: number;
  /** ms after the stall began at which the target had read the last of the others to its end. */
  lastOtherAtTargetMs: number;
  /** Per watched process: peak RSS minus the baseline, and the baseline (bytes). */
  rssGrowthBytes: number[];
  rssBaselineBytes: number[];
}

/** Runs the stall once; see the module comment. */
export async function tunnelStall(opts: TunnelStallOptions): Promise<TunnelStallObservations> {
  const { scope } = opts;
  const target = new HashingTarget(scope);
  target.stall(1);
  const { port, pids = [] } = await opts.start(await target.listen());

  let stallStartedAt = 0;
  let releasedAt = 0;
  let finishedBeforeRelease = 0;
  const release = (): void => {
    if (releasedAt !== 0) return;
    releasedAt = now();
    finishedBeforeRelease = target.seen.length;
    target.release();
  };
  const firstAccepted = new Promise<void>((resolve) =>
    target.server.once('connection', () => {
      stallStartedAt = now();
      if (opts.stallMs !== undefined) scope.timeout(release, opts.stallMs);
      resolve();
    }),
  );

  const send = async (data: Buffer): Promise<StallConnection> => {
    const socket = await connect(scope, port, 5000, { allowHalfOpen: true });
    const chunks: Buffer[] = [];
    socket.on('data', (d: Buffer) => chunks.push(d));
    const ended = socketEnd(socket);
    await writeAllAndEnd(socket, data, opts.writeBytes ?? 64 * KiB);
    const end = await ended;
    if (end.how === 'error') throw new Error(`a connection failed before its reply: ${end.code}`);
    return { sent: { bytes: data.length, sha256: sha256(data) }, received: parseSeen(Buffer.concat(chunks)), replyMs: end.at - stallStartedAt };
  };

  const sizes = [opts.stalledBytes, ...Array<number>(opts.others ?? 5).fill(opts.otherBytes)];
  const payloads = sizes.map((size, i) => randomBytes(size, opts.seed + i));
  const { result, growthBytes, baselineBytes } = await measureRss(
    pids,
    async () => {
      const first = send(payloads[0]!);
      first.catch(() => {}); // awaited below; must not be unhandled meanwhile
      await firstAccepted;
      const others = await Promise.all(payloads.slice(1).map(send));
      if (releasedAt === 0) await opts.whileStalled?.();
      if (opts.stallMs === undefined) release();
      return { first: await first, others };
    },
    pids.length > 0 ? (opts.rssSettleMs ?? 200) : 0,
  );
  const others = result.others;
  const atTarget = others.map((o) => target.endedAt[target.seen.findIndex((s) => s.sha256 === o.received.sha256)] ?? Infinity);
  return {
    stalled: result.first,
    others,
    releasedMs: releasedAt - stallStartedAt,
    finishedBeforeRelease,
    lastOtherAtTargetMs: Math.max(...atTarget) - stallStartedAt,
    rssGrowthBytes: growthBytes,
    rssBaselineBytes: baselineBytes,
  };
}
