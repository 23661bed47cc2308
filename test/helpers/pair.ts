/**
 * Two Sessions wired back to back in memory, with a toy application on each end: producers that
 * write whole payloads as credit allows, consumers that drain at their own (often slow) pace, and
 * streams reset on purpose. A seeded generator decides sizes, rates, resets and how the "TCP" link
 * cuts the byte stream. An independent wire monitor checks that no side ever sends more data on a
 * stream than the peer's window allowed.
 */
import { FrameDecoder, FrameType, INITIAL_STREAM_WINDOW_BYTES, Session, type SessionEvent, type SessionOptions } from '../../windowing/index.js';
import { SeededRandom } from './seeded-random.js';

/** What one side does with one stream. */
interface StreamApp {
  id: number;
  toSend: Buffer;
  sent: number;
  blocked: boolean;
  closed: boolean;
  received: Buffer[];
  receivedBytes: number;
  unconsumed: number;
  consumeRate: number;
  ended: boolean;
  reset: boolean;
  /** Reset the stream ourselves once this many bytes were sent (or received); -1 never. */
  resetAfter: number;
}

/** The plan for one stream, shared by both ends so the checks know what to expect. */
export interface StreamPlan {
  dialerBytes: Buffer;
  acceptorBytes: Buffer;
  dialerConsumeRate: number;
  acceptorConsumeRate: number;
  /** Which side resets the stream on purpose, if any, and after how many bytes. */
  resetBy: 'dialer' | 'acceptor' | null;
  resetAfter: number;
  openAtMs: number;
}

/** Watches one direction of the wire: data sent per stream against credit the sender had received. */
class WireMonitor {
  private readonly outbound = new FrameDecoder({ maxFrameBytes: 0xffffffff });
  private readonly inbound = new FrameDecoder({ maxFrameBytes: 0xffffffff });
  private readonly sent = new Map<number, number>();
  private readonly granted = new Map<number, number>();
  violations: string[] = [];

  /** Bytes this side emitted. */
  emitted(bytes: Buffer): void {
    for (const part of this.outbound.push(bytes)) {
      if (part.header.type !== FrameType.Data || !part.start) continue;
      const id = part.header.streamId;
      const total = (this.sent.get(id) ?? 0) + part.header.length;
      this.sent.set(id, total);
      const credit = INITIAL_STREAM_WINDOW_BYTES + (this.granted.get(id) ?? 0);
      if (total > credit) this.violations.push(`stream ${id}: sent ${total} with only ${credit} granted`);
    }
  }

  /** Bytes this side received (window updates from the peer). */
  delivered(bytes: Buffer): void {
    for (const part of this.inbound.push(bytes)) {
      if (part.header.type === FrameType.WindowUpdate) {
        const id = part.header.streamId;
        this.granted.set(id, (this.granted.get(id) ?? 0) + part.header.length);
      }
    }
  }
}

/** One end: a session plus its toy application. */
export class Endpoint {
  readonly session: Session;
  readonly streams = new Map<number, StreamApp>();
  readonly finished: StreamApp[] = [];
  readonly errors: string[] = [];
  readonly monitor = new WireMonitor();
  maxBufferedOverWindow = 0;
  /** Times open() was refused, by reason. */
  readonly refusals = new Map<string, number>();
  private readonly wire: Buffer[] = [];

  constructor(options: SessionOptions, private readonly rng: SeededRandom, private readonly plans: Map<number, StreamPlan>) {
    this.session = new Session(options);
  }

  get isDialer(): boolean {
    return this.session.role === 'dialer';
  }

  /** Bytes waiting on the wire toward the peer. */
  get wireBytes(): number {
    return this.wire.reduce((n, b) => n + b.length, 0);
  }

  /** Opens a stream for a plan; false when the session refuses for now. */
  open(plan: StreamPlan): boolean {
    const result = this.session.open();
    if (!result.ok) {
      this.refusals.set(result.reason, (this.refusals.get(result.reason) ?? 0) + 1);
      return false;
    }
    this.plans.set(result.streamId, plan);
    this.adopt(result.streamId);
    return true;
  }

  private adopt(id: number): StreamApp {
    const plan = this.plans.get(id) as StreamPlan;
    const mine = this.isDialer ? 'dialer' : 'acceptor';
    const app: StreamApp = {
      id,
      toSend: this.isDialer ? plan.dialerBytes : plan.acceptorBytes,
      sent: 0,
      blocked: false,
      closed: false,
      received: [],
      receivedBytes: 0,
      unconsumed: 0,
      consumeRate: this.isDialer ? plan.dialerConsumeRate : plan.acceptorConsumeRate,
      ended: false,
      reset: false,
      resetAfter: plan.resetBy === mine ? plan.resetAfter : -1,
    };
    this.streams.set(id, app);
    return app;
  }

  /** Handles what receive() reported. */
  handle(events: SessionEvent[]): void {
    for (const e of events) {
      switch (e.type) {
        case 'streamOpened':
          // Only a corrupted link opens a stream nobody planned: refuse it.
          if (!this.plans.has(e.streamId)) {
            this.session.reset(e.streamId);
            break;
          }
          this.adopt(e.streamId);
          this.session.accept(e.streamId);
          break;
        case 'data': {
          const app = this.streams.get(e.streamId);
          if (app === undefined) break;
          app.received.push(e.bytes);
          app.receivedBytes += e.bytes.length;
          app.unconsumed += e.bytes.length;
          const info = this.session.streamInfo(e.streamId);
          if (info !== undefined) this.maxBufferedOverWindow = Math.max(this.maxBufferedOverWindow, info.recvBufferedBytes - info.recvWindowBytes);
          break;
        }
        case 'streamEnded':
          if (this.streams.has(e.streamId)) this.streams.get(e.streamId)!.ended = true;
          break;
        case 'streamReset':
          if (this.streams.has(e.streamId)) this.streams.get(e.streamId)!.reset = true;
          break;
        case 'writable':
          if (this.streams.has(e.streamId)) this.streams.get(e.streamId)!.blocked = false;
          break;
        case 'error':
          this.errors.push(`${e.error.code}: ${e.error.message}`);
          break;
        default:
          break;
      }
    }
  }

  /** One step of application work: consume, produce, close, reset, retire finished streams. */
  work(nowMs: number): void {
    for (const app of [...this.streams.values()]) {
      if (!app.reset && app.unconsumed > 0) {
        const n = Math.min(app.unconsumed, this.rng.int(0, app.consumeRate));
        app.unconsumed -= n;
        this.session.consumed(app.id, n, nowMs);
      }
      if (!app.reset && app.resetAfter >= 0 && (app.sent >= app.resetAfter || app.receivedBytes >= app.resetAfter)) {
        this.session.reset(app.id);
        app.reset = true;
      }
      if (!app.reset && !app.closed && !app.blocked && app.sent < app.toSend.length) {
        const piece = app.toSend.subarray(app.sent, app.sent + this.rng.int(1, 200_000));
        const result = this.session.send(app.id, piece);
        app.sent += result.sentBytes;
        if (!result.canSendMore || result.sentBytes < piece.length) app.blocked = true;
      }
      if (!app.reset && !app.closed && app.sent === app.toSend.length) {
        this.session.close(app.id);
        app.closed = true;
      }
      const done = app.reset || (app.closed && app.ended && app.unconsumed === 0);
      if (done) {
        this.streams.delete(app.id);
        this.finished.push(app);
      }
    }
    const batch = this.session.takeOutbound();
    if (batch.buffers.length > 0) {
      const bytes = Buffer.concat(batch.buffers);
      this.monitor.emitted(bytes);
      this.wire.push(bytes);
    }
    this.session.flushed(batch);
  }

  /** Bytes flipped on their way to the peer. */
  corrupted = 0;

  /**
   * Moves up to `budget` bytes from our wire into the peer, cut into random pieces; with
   * `corruptRate`, that share of pieces has one byte flipped (after our own monitor saw it).
   */
  deliverTo(peer: Endpoint, budget: number, nowMs: number, corruptRate = 0): void {
    while (budget > 0 && this.wire.length > 0) {
      const head = this.wire[0];
      const n = Math.min(head.length, budget, this.rng.int(1, 70_000));
      const original = head.subarray(0, n);
      let piece = original;
      if (corruptRate > 0 && this.rng.chance(corruptRate)) {
        piece = Buffer.from(piece);
        piece[this.rng.int(0, n - 1)] ^= this.rng.int(1, 255);
        this.corrupted++;
      }
      if (n === head.length) this.wire.shift();
      else this.wire[0] = head.subarray(n);
      budget -= n;
      peer.monitor.delivered(original);
      peer.handle(peer.session.receive(piece, nowMs));
    }
  }
}

/** Builds random stream plans from a seed: payloads up to `maxBytes`, opened within `openWithinMs`. */
export function planStreams(rng: SeededRandom, count: number, maxBytes = 600_000, openWithinMs = 200): StreamPlan[] {
  const plans: StreamPlan[] = [];
  for (let i = 0; i < count; i++) {
    const roll = rng.next();
    const resetBy = roll < 0.15 ? 'dialer' : roll < 0.3 ? 'acceptor' : null;
    plans.push({
      dialerBytes: rng.bytes(rng.chance(0.2) ? 0 : rng.int(1, maxBytes)),
      acceptorBytes: rng.bytes(rng.chance(0.2) ? 0 : rng.int(1, maxBytes)),
      dialerConsumeRate: rng.chance(0.3) ? rng.int(500, 4000) : rng.int(20_000, 300_000),
      acceptorConsumeRate: rng.chance(0.3) ? rng.int(500, 4000) : rng.int(20_000, 300_000),
      resetBy,
      resetAfter: rng.int(0, 300_000),
      openAtMs: rng.int(0, openWithinMs),
    });
  }
  return plans;
}
