import { expect } from 'chai';
import fc from 'fast-check';
import { Duplex } from 'node:stream';
import {
  HandshakeTimeoutError,
  KeepaliveTimeoutError,
  LinkLostError,
  RemoteGoAwayError,
  StreamOpenError,
  StreamResetError,
  TunnelProtocolError,
  TunnelSession,
  type TunnelStream,
} from '../../../proxy/index.js';
import { resourceBaseline, settledSince } from '../../helpers/handles.js';
import { SeededRandom } from '../../helpers/seeded-random.js';

/**
 * A client/server TunnelSession pair joined by an in-memory link that cuts, delays and (in some
 * runs) corrupts bytes, the shape of Envoy's codec fuzzer. Whatever happens on the link, a
 * session either delivers every stream intact or ends with one of our typed errors; nothing else
 * is thrown, no session fails on its own side (an internal error), and once both are closed no
 * timer or immediate is left behind.
 */

/** How one direction of the link treats bytes. */
interface WirePlan {
  seed: number;
  /** Largest piece a write is cut into. */
  maxPiece: number;
  /** Most event-loop turns a piece waits before delivery (order is kept). */
  maxDelayTurns: number;
  /** Chance that a piece has one byte flipped; 0 = a faithful link. */
  corruptRate: number;
}

/** One end of the faulty link; the write callback runs once the bytes are delivered, as a socket's does once the kernel took them. */
class WireEnd extends Duplex {
  peer!: WireEnd;
  /** Bytes flipped on the way out. */
  corrupted = 0;
  /** Bytes delivered to the peer so far (progress, for the stall watchdog). */
  delivered = 0;
  private readonly rng: SeededRandom;
  private readonly queue: { piece: Buffer | null; done?: () => void }[] = [];
  private pumping = false;

  constructor(private readonly plan: WirePlan) {
    super({ allowHalfOpen: true });
    this.rng = new SeededRandom(plan.seed);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    if (this.peer.destroyed) return callback(Object.assign(new Error('peer closed'), { code: 'EPIPE' }));
    const bytes = Buffer.from(chunk);
    for (let at = 0; at < bytes.length; ) {
      const n = Math.min(bytes.length - at, this.rng.int(1, this.plan.maxPiece));
      const piece = bytes.subarray(at, at + n);
      if (this.plan.corruptRate > 0 && this.rng.chance(this.plan.corruptRate)) {
        piece[this.rng.int(0, n - 1)] ^= this.rng.int(1, 255);
        this.corrupted++;
      }
      at += n;
      this.queue.push(at === bytes.length ? { piece, done: () => callback() } : { piece });
    }
    if (bytes.length === 0) callback();
    this.pump();
  }

  override _final(callback: (err?: Error | null) => void): void {
    this.queue.push({ piece: null });
    this.pump();
    callback();
  }

  override _read(): void {}

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.queue.length = 0;
    if (!this.peer.destroyed) this.peer.destroy();
    callback(error);
  }

  // Delivers queued pieces in order, each after 0..maxDelayTurns turns of the event loop (pieces
  // with no delay go in the same turn, as separate reads).
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    const wait = (turns: number): void => void setImmediate(next, turns);
    const next = (turns: number): void => {
      if (turns > 0) return wait(turns - 1);
      for (;;) {
        const item = this.queue.shift();
        if (item === undefined || this.destroyed || this.peer.destroyed) {
          this.pumping = false;
          return;
        }
        if (item.piece === null) this.peer.push(null);
        else {
          this.delivered += item.piece.length;
          this.peer.push(item.piece);
        }
        item.done?.();
        const delay = this.rng.int(0, this.plan.maxDelayTurns);
        if (delay > 0) return wait(delay - 1);
      }
    };
    wait(this.rng.int(0, this.plan.maxDelayTurns));
  }
}

function wirePair(toAcceptor: WirePlan, toDialer: WirePlan): [WireEnd, WireEnd] {
  const a = new WireEnd(toAcceptor);
  const b = new WireEnd(toDialer);
  a.peer = b;
  b.peer = a;
  return [a, b];
}

/** Errors a stream or session may end with when the link misbehaves: ours, or Node's stream-state ones. */
function isTyped(err: unknown): boolean {
  if (err instanceof TunnelProtocolError) return err.code !== 'ERR_INTERNAL';
  if (err instanceof LinkLostError || err instanceof StreamResetError || err instanceof RemoteGoAwayError) return true;
  if (err instanceof KeepaliveTimeoutError || err instanceof HandshakeTimeoutError || err instanceof StreamOpenError) return true;
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'ERR_STREAM_DESTROYED' || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ERR_STREAM_WRITE_AFTER_END';
}

interface StreamOutcome {
  intact: boolean;
  error: unknown;
}

interface RunOutcome {
  streams: StreamOutcome[];
  dialerError: Error | null;
  acceptorError: Error | null;
  stalled: boolean;
  corrupted: number;
  untyped: unknown[];
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function runPair(sizes: number[], writeSlice: number, toAcceptor: WirePlan, toDialer: WirePlan): Promise<RunOutcome> {
  const [a, b] = wirePair(toAcceptor, toDialer);
  const untyped: unknown[] = [];
  const dialer = new TunnelSession(a, { role: 'dialer', keepaliveIntervalMs: 0 });
  const acceptor = new TunnelSession(b, { role: 'acceptor', keepaliveIntervalMs: 0 });
  acceptor.on('stream', (s: TunnelStream) => {
    s.on('error', (e) => isTyped(e) || untyped.push(e));
    s.pipe(s);
  });
  const rng = new SeededRandom(toAcceptor.seed ^ 0x5eed);
  const results = sizes.map(async (size): Promise<StreamOutcome> => {
    const data = rng.bytes(size);
    const stream = dialer.tryOpen();
    if (typeof stream === 'string') return { intact: false, error: new StreamOpenError(stream) };
    const echoed: Buffer[] = [];
    const done = new Promise<unknown>((resolve) => {
      stream.on('data', (d: Buffer) => echoed.push(d));
      stream.once('end', () => resolve(null));
      stream.once('error', (e) => resolve(e));
      stream.once('close', () => resolve(new Error('closed without an end')));
    });
    for (let at = 0; at < data.length && !stream.destroyed; at += writeSlice) {
      if (!stream.write(data.subarray(at, at + writeSlice))) {
        await new Promise<void>((resolve) => {
          stream.once('drain', resolve);
          stream.once('close', resolve);
        });
      }
    }
    if (!stream.destroyed) stream.end();
    const error = await done;
    return { intact: error === null && Buffer.concat(echoed).equals(data), error };
  });

  // Watchdog: a corrupted window update can leave a stream waiting for credit forever (yamux has
  // no checksum to notice), so a run that moves no byte for 200 turns is ended by destroying both.
  let stalled = false;
  let finished = false;
  const all = Promise.all(results).finally(() => (finished = true));
  let last = -1;
  let quiet = 0;
  while (!finished) {
    await turn();
    const progress = a.delivered + b.delivered;
    quiet = progress === last ? quiet + 1 : 0;
    last = progress;
    if (quiet > 200) {
      stalled = true;
      dialer.destroy();
      acceptor.destroy();
      break;
    }
  }
  const streams = await all;
  for (const s of streams) if (s.error !== null && !isTyped(s.error) && !(s.error instanceof Error && s.error.message === 'closed without an end')) untyped.push(s.error);
  // A clean close must happen (a faithful run is failed by the destroy below if it does not);
  // after corruption a stream may never finish (a lost FIN), so a short wait will do.
  const closeWithinMs = a.corrupted + b.corrupted > 0 ? 100 : 2000;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all([dialer.close(), acceptor.close()]), new Promise((resolve) => (timer = setTimeout(resolve, closeWithinMs)))]);
  clearTimeout(timer);
  dialer.destroy();
  acceptor.destroy();
  const [dialerError, acceptorError] = await Promise.all([dialer.done, acceptor.done]);
  for (const e of [dialerError, acceptorError]) if (e !== null && !isTyped(e)) untyped.push(e);
  return { streams, dialerError, acceptorError, stalled, corrupted: a.corrupted + b.corrupted, untyped };
}

const planArb = (corruptRate: fc.Arbitrary<number>): fc.Arbitrary<WirePlan> =>
  fc.record({
    seed: fc.integer({ min: 1, max: 0x7fffffff }),
    maxPiece: fc.integer({ min: 1, max: 20_000 }),
    maxDelayTurns: fc.integer({ min: 0, max: 3 }),
    corruptRate,
  });
/** More runs for a longer hunt: SLUICE_FUZZ_RUNS=2000 npx mocha -g 'faulty in-memory'. */
const runs = (quick: number): number => Number(process.env.SLUICE_FUZZ_RUNS ?? quick);
const sizesArb = fc.array(fc.integer({ min: 0, max: 40 * 1024 }), { minLength: 1, maxLength: 4 });
const sliceArb = fc.integer({ min: 1_000, max: 40_000 });

describe('TunnelSession pair over a faulty in-memory link (fast-check)', function () {
  this.timeout(60_000);

  it('cut and delayed but faithful: every stream comes back intact, both sessions close cleanly, nothing left behind', async () => {
    const before = await resourceBaseline();
    await fc.assert(
      fc.asyncProperty(sizesArb, sliceArb, planArb(fc.constant(0)), planArb(fc.constant(0)), async (sizes, slice, up, down) => {
        const outcome = await runPair(sizes, slice, up, down);
        expect(outcome.untyped).to.deep.equal([]);
        expect(outcome.stalled, 'stalled').to.equal(false);
        expect(outcome.streams.map((s) => s.intact)).to.deep.equal(sizes.map(() => true));
        expect(outcome.dialerError).to.equal(null);
        expect(outcome.acceptorError).to.equal(null);
      }),
      { numRuns: runs(25) },
    );
    expect(await settledSince(before), 'resources left behind').to.deep.equal({});
  });

  it('corrupted too: each stream is intact or ends with a typed error, sessions end with typed errors only, nothing else thrown, nothing left behind', async () => {
    const before = await resourceBaseline();
    let corruptRuns = 0;
    let failedRuns = 0;
    const codes: Record<string, number> = {};
    await fc.assert(
      fc.asyncProperty(
        sizesArb,
        sliceArb,
        planArb(fc.double({ min: 0.001, max: 0.2, noNaN: true })),
        planArb(fc.double({ min: 0, max: 0.2, noNaN: true })),
        async (sizes, slice, up, down) => {
          const outcome = await runPair(sizes, slice, up, down);
          expect(outcome.untyped.map(String)).to.deep.equal([]);
          if (outcome.corrupted > 0) corruptRuns++;
          if (outcome.dialerError !== null || outcome.acceptorError !== null) failedRuns++;
          for (const e of [outcome.dialerError, outcome.acceptorError]) {
            const code = e === null ? 'none' : `${(e as { code?: string }).code}${outcome.stalled ? ' (stalled)' : ''}`;
            codes[code] = (codes[code] ?? 0) + 1;
          }
          // A run nothing was corrupted in is held to the faithful standard.
          if (outcome.corrupted === 0) {
            expect(outcome.streams.map((s) => s.intact)).to.deep.equal(sizes.map(() => true));
            expect(outcome.stalled).to.equal(false);
          }
        },
      ),
      { numRuns: runs(40) },
    );
    if (process.env.SLUICE_FUZZ_RUNS) console.log(`      ${corruptRuns} runs corrupted, ${failedRuns} ended with an error, codes: ${JSON.stringify(codes)}`);
    expect(corruptRuns, 'runs where bytes were corrupted').to.be.above(10);
    expect(failedRuns, 'runs that ended with a protocol error').to.be.above(0);
    expect(await settledSince(before), 'resources left behind').to.deep.equal({});
  });
});
