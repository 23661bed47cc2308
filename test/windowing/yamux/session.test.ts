import { expect } from 'chai';
import sinon from 'sinon';
import {
  ControlReplyFloodError,
  DataAfterFinError,
  DuplicateStreamError,
  EmptyFrameFloodError,
  Flag,
  FrameTooLargeError,
  FrameType,
  InternalError,
  InvalidStreamIdError,
  MAX_SKIPPED_PEER_IDS,
  MemoryBudget,
  ReceiveWindowExceededError,
  ResetFloodError,
  Session,
  StreamIdParityError,
  StreamStateError,
  UnknownFrameTypeError,
  WindowOverflowError,
  WindowUpdateFloodError,
  type SessionEvent,
  type SessionOptions,
  type SessionError,
} from '../../../windowing/index.js';
import { chunkings } from '../../helpers/chunking.js';
import { frame, summarize, takeFrames, takeLines } from '../../helpers/wire.js';

const { Data, WindowUpdate, Ping, GoAway } = FrameType;
const { SYN, ACK, FIN, RST } = Flag;
const KiB = 1024;

function acceptor(options: Partial<SessionOptions> = {}): Session {
  return new Session({ role: 'acceptor', autoTune: false, ...options });
}

function dialer(options: Partial<SessionOptions> = {}): Session {
  return new Session({ role: 'dialer', autoTune: false, ...options });
}

/** An acceptor with peer stream 1 opened and accepted; outbound cleared. */
function withStream(options: Partial<SessionOptions> = {}): Session {
  const s = acceptor(options);
  s.receive(frame(WindowUpdate, SYN, 1, 0), 0);
  s.accept(1);
  s.takeOutbound();
  return s;
}

function errorOf(events: SessionEvent[]): SessionError {
  const last = events[events.length - 1];
  if (last?.type !== 'error') throw new Error(`expected an error event, got ${summarize(events).join(', ')}`);
  return last.error;
}

describe('Session', () => {
  describe('opening streams', () => {
    it('the dialer uses odd ids and opens with a window update carrying SYN and delta 0 (as Go yamux does)', () => {
      const s = dialer();
      expect(s.open()).to.deep.equal({ ok: true, streamId: 1 });
      expect(s.open()).to.deep.equal({ ok: true, streamId: 3 });
      expect(takeLines(s)).to.deep.equal(['WINDOW_UPDATE stream=1 flags=SYN delta=0', 'WINDOW_UPDATE stream=3 flags=SYN delta=0']);
    });

    it('the acceptor uses even ids', () => {
      const s = acceptor();
      expect(s.open()).to.deep.equal({ ok: true, streamId: 2 });
      expect(s.open()).to.deep.equal({ ok: true, streamId: 4 });
    });

    it('a window above 256 KiB is announced as the SYN and ACK delta', () => {
      const d = dialer({ initialWindowBytes: 1024 * KiB });
      d.open();
      expect(takeLines(d)).to.deep.equal(['WINDOW_UPDATE stream=1 flags=SYN delta=786432']);
      const a = acceptor({ initialWindowBytes: 512 * KiB });
      a.receive(frame(WindowUpdate, SYN, 1, 0), 0);
      a.accept(1);
      expect(takeLines(a)).to.deep.equal(['WINDOW_UPDATE stream=1 flags=ACK delta=262144']);
    });

    it('SYN, then accept() answers with ACK on a window update; the dialer sees streamAccepted', () => {
      const d = dialer();
      const a = acceptor();
      d.open();
      expect(summarize(a.receive(Buffer.concat(d.takeOutbound().buffers), 0))).to.deep.equal(['streamOpened 1']);
      expect(a.streamInfo(1)).to.include({ phase: 'SynReceived', local: false });
      expect(a.accept(1)).to.equal(true);
      expect(a.streamInfo(1)?.phase).to.equal('Established');
      const ack = Buffer.concat(a.takeOutbound().buffers);
      expect(summarize(d.receive(ack, 0))).to.deep.equal(['streamAccepted 1']);
      expect(d.streamInfo(1)?.phase).to.equal('Established');
      expect(() => a.accept(1)).to.throw(StreamStateError, 'stream 1: already accepted');
      expect(() => d.accept(1)).to.throw(StreamStateError, 'stream 1: opened locally, nothing to accept');
    });

    it('accepts SYN on a data frame and delivers its payload (libp2p and Go may send data with SYN)', () => {
      const a = acceptor();
      const events = a.receive(frame(Data, SYN, 1, 0, Buffer.from('hello')), 0);
      expect(summarize(events)).to.deep.equal(['streamOpened 1', 'data 1 5']);
      expect((events[1] as { bytes: Buffer }).bytes.toString()).to.equal('hello');
    });

    it('accepts ACK riding on a data frame', () => {
      const d = dialer();
      d.open();
      expect(summarize(d.receive(frame(Data, ACK, 1, 0, Buffer.from('hi')), 0))).to.deep.equal(['streamAccepted 1', 'data 1 2']);
    });

    it('may send before the ACK arrives (spec: data can follow SYN at once)', () => {
      const d = dialer();
      d.open();
      expect(d.send(1, Buffer.from('early'))).to.deep.equal({ sentBytes: 5, canSendMore: true });
      expect(takeLines(d)).to.deep.equal(['WINDOW_UPDATE stream=1 flags=SYN delta=0', 'DATA stream=1 flags=- length=5']);
    });

    it('sending on a stream not yet accepted accepts it first', () => {
      const a = acceptor();
      a.receive(frame(WindowUpdate, SYN, 1, 0), 0);
      a.send(1, Buffer.from('x'));
      expect(takeLines(a)).to.deep.equal(['WINDOW_UPDATE stream=1 flags=ACK delta=0', 'DATA stream=1 flags=- length=1']);
    });

    it('accepts SYNs out of order (Go yamux opens streams from many goroutines): 5, 1, 3, then 7', () => {
      const s = acceptor();
      const events = s.receive(Buffer.concat([5, 1, 3, 7].map((id) => frame(WindowUpdate, SYN, id, 0))), 0);
      expect(summarize(events)).to.deep.equal(['streamOpened 5', 'streamOpened 1', 'streamOpened 3', 'streamOpened 7']);
      expect(s.isTerminated).to.equal(false);
    });

    it(`remembers the ${MAX_SKIPPED_PEER_IDS} most recently skipped ids`, () => {
      const s = acceptor({ acceptBacklog: 1000 });
      const far = 1 + 2 * (MAX_SKIPPED_PEER_IDS + 10);
      s.receive(frame(WindowUpdate, SYN, far, 0), 0);
      expect(summarize(s.receive(frame(WindowUpdate, SYN, far - 2 * MAX_SKIPPED_PEER_IDS, 0), 0))).to.deep.equal([`streamOpened ${far - 2 * MAX_SKIPPED_PEER_IDS}`]);
      expect(errorOf(s.receive(frame(WindowUpdate, SYN, far - 2 * (MAX_SKIPPED_PEER_IDS + 1), 0), 0))).to.be.instanceOf(InvalidStreamIdError);
    });

    it('a stream refused with RST reports streamReset and frees its backlog slot', () => {
      const d = dialer({ acceptBacklog: 1 });
      d.open();
      expect(d.open()).to.deep.equal({ ok: false, reason: 'backlog-full' });
      expect(summarize(d.receive(frame(WindowUpdate, RST, 1, 0), 0))).to.deep.equal(['streamReset 1']);
      expect(d.open()).to.deep.equal({ ok: true, streamId: 3 });
    });
  });

  describe('stream ids', () => {
    const violations: [string, () => Buffer[], string, RegExp][] = [
      ['the peer opens an id of our parity (both sides dialing)', () => [frame(WindowUpdate, SYN, 2, 0)], 'ERR_STREAM_ID_PARITY', /^stream id 2 has our parity/],
      ['the peer opens a live id twice', () => [frame(WindowUpdate, SYN, 1, 0), frame(WindowUpdate, SYN, 1, 0)], 'ERR_DUPLICATE_STREAM', /^stream 1 opened twice$/],
      [
        'the peer reopens an old id',
        () => [frame(WindowUpdate, SYN, 5, 0), frame(WindowUpdate, RST, 5, 0), frame(WindowUpdate, SYN, 5, 0)],
        'ERR_INVALID_STREAM_ID',
        /^stream id 5: already used \(or skipped too long ago\): ids up to 5 were opened$/,
      ],
      [
        'the peer opens a skipped id twice',
        () => [frame(WindowUpdate, SYN, 5, 0), frame(WindowUpdate, SYN, 3, 0), frame(WindowUpdate, RST, 3, 0), frame(WindowUpdate, SYN, 3, 0)],
        'ERR_INVALID_STREAM_ID',
        /^stream id 3: already used/,
      ],
      [
        `the peer opens an id skipped more than ${MAX_SKIPPED_PEER_IDS} ids ago`,
        () => [frame(WindowUpdate, SYN, 1 + 2 * (MAX_SKIPPED_PEER_IDS + 1), 0), frame(WindowUpdate, SYN, 1, 0)],
        'ERR_INVALID_STREAM_ID',
        /^stream id 1: already used \(or skipped too long ago\)/,
      ],
      ['data for a peer id never opened', () => [frame(Data, 0, 7, 0, Buffer.from('x'))], 'ERR_INVALID_STREAM_ID', /^stream id 7: DATA stream=7 flags=- length=1 for a stream never opened$/],
      ['a window update for our id never opened', () => [frame(WindowUpdate, 0, 2, 5)], 'ERR_INVALID_STREAM_ID', /never opened/],
      ['data on the session id 0', () => [frame(Data, 0, 0, 0, Buffer.from('x'))], 'ERR_INVALID_STREAM_ID', /^stream id 0: DATA stream=0 flags=- length=1 on the session id$/],
      ['a window update on the session id 0', () => [frame(WindowUpdate, SYN, 0, 0)], 'ERR_INVALID_STREAM_ID', /on the session id/],
      ['a ping on a stream', () => [frame(Ping, SYN, 1, 0)], 'ERR_INVALID_STREAM_ID', /^stream id 1: ping on a stream/],
      ['a go away on a stream', () => [frame(GoAway, 0, 1, 0)], 'ERR_INVALID_STREAM_ID', /^stream id 1: go away on a stream/],
      ['an unknown frame type', () => [frame(4, 0, 1, 0)], 'ERR_UNKNOWN_FRAME_TYPE', /^unknown frame type 4$/],
      ['a version other than 0', () => [Buffer.from([1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0])], 'ERR_UNSUPPORTED_VERSION', /version 1/],
    ];
    for (const [what, input, code, message] of violations) {
      it(`${what}: ${code}, go away (protocol error) queued, session over`, () => {
        const s = acceptor();
        const events = input().flatMap((chunk) => s.receive(chunk, 0));
        const err = errorOf(events);
        expect(err.code).to.equal(code);
        expect(err.goAwayCode).to.equal(1);
        expect(err.message).to.match(message);
        expect(s.isTerminated).to.equal(true);
        expect(s.error).to.equal(err);
        expect(takeLines(s).pop()).to.equal('GO_AWAY stream=0 flags=- code=1 (protocol error)');
        expect(s.receive(frame(Ping, SYN, 0, 1), 0)).to.deep.equal([]);
        expect(s.hasOutbound).to.equal(false);
        expect(s.open()).to.deep.equal({ ok: false, reason: 'terminated' });
      });
    }

    it('two dialers wired together each see the other open an odd id', () => {
      const a = dialer();
      const b = dialer();
      a.open();
      b.open();
      const errA = errorOf(a.receive(Buffer.concat(b.takeOutbound().buffers), 0));
      const errB = errorOf(b.receive(Buffer.concat(a.takeOutbound().buffers), 0));
      expect([errA, errB].every((e) => e instanceof StreamIdParityError)).to.equal(true);
    });

    it('frames for a stream that was closed are ignored, its data discarded', () => {
      const s = withStream();
      s.reset(1);
      s.takeOutbound();
      const events = s.receive(Buffer.concat([frame(Data, 0, 1, 0, Buffer.alloc(100)), frame(WindowUpdate, 0, 1, 10), frame(Data, FIN, 1, 0, Buffer.alloc(3))]), 0);
      expect(events).to.deep.equal([]);
      expect(s.stats.bytesDiscarded).to.equal(103);
      expect(s.isTerminated).to.equal(false);
    });

    it('processes every frame before the violation in the same chunk', () => {
      const s = acceptor();
      const events = s.receive(Buffer.concat([frame(Data, SYN, 1, 0, Buffer.from('ok')), frame(Data, SYN, 2, 0)]), 0);
      expect(summarize(events)).to.deep.equal(['streamOpened 1', 'data 1 2', 'error ERR_STREAM_ID_PARITY goAway=1']);
    });
  });

  describe('half-close and reset', () => {
    it('FIN on a data frame takes effect after its payload; closing our side too frees the stream', () => {
      const s = withStream();
      expect(summarize(s.receive(frame(Data, FIN, 1, 0, Buffer.from('bye')), 0))).to.deep.equal(['data 1 3', 'streamEnded 1']);
      expect(s.streamInfo(1)).to.include({ remoteClosed: true, localClosed: false });
      expect(s.send(1, Buffer.from('still writing')).sentBytes).to.equal(13);
      expect(s.close(1)).to.equal(true);
      expect(takeLines(s)).to.deep.equal(['DATA stream=1 flags=- length=13', 'WINDOW_UPDATE stream=1 flags=FIN delta=0']);
      expect(s.streamCount).to.equal(0);
    });

    it('our FIN first, then the peer FIN frees the stream; the peer may keep sending in between', () => {
      const s = withStream();
      s.close(1);
      expect(s.close(1)).to.equal(false);
      expect(() => s.send(1, Buffer.from('x'))).to.throw(StreamStateError, 'stream 1: send after close');
      expect(summarize(s.receive(frame(Data, 0, 1, 0, Buffer.from('more')), 0))).to.deep.equal(['data 1 4']);
      expect(summarize(s.receive(frame(WindowUpdate, FIN, 1, 0), 0))).to.deep.equal(['streamEnded 1']);
      expect(s.streamCount).to.equal(0);
    });

    it('data after the peer FIN is a protocol error', () => {
      const s = withStream();
      s.receive(frame(WindowUpdate, FIN, 1, 0), 0);
      const err = errorOf(s.receive(frame(Data, 0, 1, 0, Buffer.from('late')), 0));
      expect(err).to.be.instanceOf(DataAfterFinError);
      expect(err.message).to.equal("stream 1: data after the peer's FIN");
    });

    it('a second FIN carrying nothing is ignored; window updates after the peer FIN still count', () => {
      const s = withStream();
      s.receive(frame(WindowUpdate, FIN, 1, 0), 0);
      expect(s.receive(frame(Data, FIN, 1, 0), 0)).to.deep.equal([]);
      s.receive(frame(WindowUpdate, 0, 1, 1000), 0);
      expect(s.streamInfo(1)?.sendCreditBytes).to.equal(256 * KiB + 1000);
    });

    it('RST from the peer after its payload: the stream is gone and later calls are quiet no-ops', () => {
      const s = withStream();
      expect(summarize(s.receive(frame(Data, RST, 1, 0, Buffer.from('x')), 0))).to.deep.equal(['data 1 1', 'streamReset 1']);
      expect(s.streamCount).to.equal(0);
      expect(s.send(1, Buffer.from('x'))).to.deep.equal({ sentBytes: 0, canSendMore: false });
      expect(s.close(1)).to.equal(false);
      expect(s.reset(1)).to.equal(false);
      expect(s.accept(1)).to.equal(false);
      s.consumed(1, 1, 0);
      expect(s.hasOutbound).to.equal(false);
    });

    it('reset() sends RST on a window update and frees the stream; refusing a peer stream is the same call', () => {
      const s = acceptor();
      s.receive(frame(WindowUpdate, SYN, 1, 0), 0);
      expect(s.reset(1)).to.equal(true);
      expect(takeLines(s)).to.deep.equal(['WINDOW_UPDATE stream=1 flags=RST delta=0']);
      expect(s.streamCount).to.equal(0);
    });

    it('a local reset in the middle of an inbound frame discards the rest of its payload', () => {
      const s = withStream();
      const bytes = frame(Data, 0, 1, 0, Buffer.alloc(10));
      expect(summarize(s.receive(bytes.subarray(0, 15), 0))).to.deep.equal(['data 1 3']);
      s.reset(1);
      expect(s.receive(bytes.subarray(15), 0)).to.deep.equal([]);
      expect(s.stats.bytesDiscarded).to.equal(7);
    });
  });

  describe('go away', () => {
    it('our normal go away refuses new peer streams with RST while existing ones carry on', () => {
      const s = withStream();
      s.goAway();
      s.goAway();
      expect(takeLines(s)).to.deep.equal(['GO_AWAY stream=0 flags=- code=0 (normal)']);
      expect(s.localGoAway).to.equal(true);
      expect(s.receive(frame(WindowUpdate, SYN, 3, 0), 0)).to.deep.equal([]);
      expect(takeLines(s)).to.deep.equal(['WINDOW_UPDATE stream=3 flags=RST delta=0']);
      expect(summarize(s.receive(frame(Data, 0, 1, 0, Buffer.from('abc')), 0))).to.deep.equal(['data 1 3']);
      expect(s.send(1, Buffer.from('reply')).sentBytes).to.equal(5);
      expect(s.open()).to.deep.equal({ ok: false, reason: 'go-away' });
      expect(s.isTerminated).to.equal(false);
    });

    it('the peer normal go away: no new streams from us, existing ones finish', () => {
      const s = withStream();
      expect(summarize(s.receive(frame(GoAway, 0, 0, 0), 0))).to.deep.equal(['goAway 0']);
      expect(s.remoteGoAway).to.equal(true);
      expect(s.open()).to.deep.equal({ ok: false, reason: 'go-away' });
      expect(s.send(1, Buffer.from('x')).sentBytes).to.equal(1);
      expect(s.isTerminated).to.equal(false);
    });

    for (const code of [1, 2, 7]) {
      it(`the peer go away with code ${code} ends the session without a reply`, () => {
        const s = withStream();
        expect(summarize(s.receive(Buffer.concat([frame(GoAway, 0, 0, code), frame(Ping, SYN, 0, 1)]), 0))).to.deep.equal([`goAway ${code}`]);
        expect(s.isTerminated).to.equal(true);
        expect(s.hasOutbound).to.equal(false);
      });
    }

    it('goAway(2) queues an internal-error go away and ends the session', () => {
      const s = withStream();
      s.goAway(2);
      expect(takeLines(s)).to.deep.equal(['GO_AWAY stream=0 flags=- code=2 (internal error)']);
      expect(s.isTerminated).to.equal(true);
      expect(s.send(1, Buffer.from('x')).sentBytes).to.equal(0);
    });
  });

  describe('ping', () => {
    it('echoes a ping SYN with an ACK carrying the same opaque value, counted as a control reply', () => {
      const s = acceptor();
      expect(s.receive(frame(Ping, SYN, 0, 0xffffffff), 0)).to.deep.equal([]);
      const batch = s.takeOutbound();
      expect(batch.controlReplies).to.equal(1);
      expect(batch.byteLength).to.equal(12);
      expect([...Buffer.concat(batch.buffers)]).to.deep.equal([0, 2, 0, 2, 0, 0, 0, 0, 255, 255, 255, 255]);
    });

    it('measures the round trip from its own pings and smooths it (a lower sample at once, a higher one halfway)', () => {
      const s = dialer();
      expect(s.rttMs).to.equal(null);
      s.ping(10);
      s.ping(20);
      s.ping(30);
      expect(takeLines(s)).to.deep.equal(['PING stream=0 flags=SYN opaque=1', 'PING stream=0 flags=SYN opaque=2', 'PING stream=0 flags=SYN opaque=3']);
      expect(summarize(s.receive(frame(Ping, ACK, 0, 1), 60))).to.deep.equal(['rtt 50 50']);
      expect(summarize(s.receive(frame(Ping, ACK, 0, 2), 50))).to.deep.equal(['rtt 30 30']);
      expect(summarize(s.receive(frame(Ping, ACK, 0, 3), 80))).to.deep.equal(['rtt 50 40']);
      expect(s.rttMs).to.equal(40);
      expect(s.receive(frame(Ping, ACK, 0, 2), 70)).to.deep.equal([]);
      expect(s.receive(frame(Ping, ACK, 0, 99), 70)).to.deep.equal([]);
    });

    it('keeps at most maxOutstandingPings of its own pings in flight', () => {
      const s = dialer({ maxOutstandingPings: 2 });
      expect([s.ping(0), s.ping(0), s.ping(0)]).to.deep.equal([true, true, false]);
      s.receive(frame(Ping, ACK, 0, 1), 5);
      expect(s.ping(5)).to.equal(true);
    });
  });

  describe('windows', () => {
    it('a data frame longer than the remaining window is refused from its header alone', () => {
      const s = withStream();
      const header = frame(Data, 0, 1, 256 * KiB + 1);
      const err = errorOf(s.receive(header, 0));
      expect(err).to.be.instanceOf(ReceiveWindowExceededError);
      expect(err.message).to.equal('stream 1: data frame of 262145 bytes exceeds the receive window of 262144 bytes');
      expect(takeLines(s)).to.deep.equal(['GO_AWAY stream=0 flags=- code=1 (protocol error)']);
    });

    it('a data frame exactly the size of the window is accepted, the next byte is not', () => {
      const s = withStream();
      expect(summarize(s.receive(frame(Data, 0, 1, 0, Buffer.alloc(256 * KiB)), 0))).to.deep.equal(['data 1 262144']);
      expect(errorOf(s.receive(frame(Data, 0, 1, 0, Buffer.alloc(1)), 0))).to.be.instanceOf(ReceiveWindowExceededError);
    });

    it('a 4 GiB data frame is refused by the decoder before anything is buffered', () => {
      const s = withStream();
      expect(errorOf(s.receive(frame(Data, 0, 1, 0xffffffff), 0))).to.be.instanceOf(FrameTooLargeError);
    });

    it('grants credit only for consumed bytes, once half the window is owed, in one update', () => {
      const s = withStream();
      s.receive(frame(Data, 0, 1, 0, Buffer.alloc(200 * KiB)), 0);
      expect(s.hasOutbound).to.equal(false);
      s.consumed(1, 128 * KiB - 1, 1);
      expect(s.hasOutbound).to.equal(false);
      s.consumed(1, 1, 2);
      expect(takeLines(s)).to.deep.equal(['WINDOW_UPDATE stream=1 flags=- delta=131072']);
      expect(s.streamInfo(1)).to.include({ recvCreditBytes: 56 * KiB + 128 * KiB, recvBufferedBytes: 72 * KiB });
      expect(() => s.consumed(1, 72 * KiB + 1, 3)).to.throw(StreamStateError);
    });

    it('auto-tuning grows a window only in the window update that tells the peer', () => {
      const s = firstWindowFull();
      s.consumed(1, 128 * KiB - 1, 101);
      expect(s.streamInfo(1)).to.include({ recvWindowBytes: 256 * KiB, recvCreditBytes: 0 });
      s.consumed(1, 1, 101);
      expect(takeLines(s)).to.deep.equal(['WINDOW_UPDATE stream=1 flags=- delta=393216']);
      expect(s.streamInfo(1)).to.include({ recvWindowBytes: 512 * KiB, recvCreditBytes: 384 * KiB, recvBufferedBytes: 128 * KiB });
      expect(s.stats.windowsGrown).to.equal(1);
      expect(errorOf(s.receive(frame(Data, 0, 1, 384 * KiB + 1), 102))).to.be.instanceOf(ReceiveWindowExceededError);
    });

    describe('with a shared window budget', () => {
      /** An acceptor with peer streams 1 and 3, an RTT of 50 ms, and a budget of `budgetBytes`. */
      function budgeted(budgetBytes: number): { s: Session; budget: MemoryBudget } {
        const budget = new MemoryBudget({ budgetBytes });
        const s = acceptor({ autoTune: true, windowBudget: budget });
        s.receive(Buffer.concat([frame(WindowUpdate, SYN, 1, 0), frame(WindowUpdate, SYN, 3, 0)]), 0);
        s.accept(1);
        s.accept(3);
        s.ping(0);
        s.receive(frame(Ping, ACK, 0, 1), 50);
        s.takeOutbound();
        return { s, budget };
      }
      /** Delivers and consumes half a window fast enough to grow it. */
      function drainFast(s: Session, id: number, atMs: number): void {
        const half = s.streamInfo(id)!.recvWindowBytes / 2;
        s.receive(frame(Data, 0, id, 0, Buffer.alloc(half)), atMs);
        s.consumed(id, half, atMs + 1);
      }

      it('draws growth from the budget: full, then partial, then none', () => {
        const { s, budget } = budgeted(400 * KiB);
        drainFast(s, 1, 100);
        expect(s.streamInfo(1)!.recvWindowBytes).to.equal(512 * KiB);
        expect(budget.usedBytes).to.equal(256 * KiB);
        drainFast(s, 3, 200);
        expect(s.streamInfo(3)!.recvWindowBytes).to.equal(256 * KiB + 144 * KiB);
        expect(budget.usedBytes).to.equal(400 * KiB);
        drainFast(s, 1, 300);
        expect(s.streamInfo(1)!.recvWindowBytes).to.equal(512 * KiB);
        expect(s.stats.windowsGrown).to.equal(2);
      });

      it('gives growth back when a stream goes (reset, or FIN both ways), under memory pressure, and on dispose()', () => {
        const { s, budget } = budgeted(16 * 1024 * KiB);
        drainFast(s, 1, 100);
        drainFast(s, 3, 100);
        expect(budget.usedBytes).to.equal(512 * KiB);
        s.reset(1);
        expect(budget.usedBytes).to.equal(256 * KiB);
        s.setMemoryPressure(true);
        expect(budget.usedBytes).to.equal(0);
        const again = budgeted(16 * 1024 * KiB);
        drainFast(again.s, 1, 100);
        drainFast(again.s, 3, 100);
        again.s.receive(frame(WindowUpdate, FIN, 3, 0), 101);
        again.s.close(3);
        expect(again.budget.usedBytes).to.equal(256 * KiB);
        again.s.dispose();
        expect(again.budget.usedBytes).to.equal(0);
        expect(again.s.isTerminated).to.equal(true);
        expect(again.s.streamCount).to.equal(0);
      });
    });

    /** An auto-tuned stream with a round trip of 50 ms measured, its first 256 KiB window all sent at 100 ms. */
    function firstWindowFull(options: Partial<SessionOptions> = {}): Session {
      const s = withStream({ autoTune: true, ...options });
      s.ping(0);
      s.receive(frame(Ping, ACK, 0, 1), 50);
      s.takeOutbound();
      s.receive(frame(Data, 0, 1, 0, Buffer.alloc(256 * KiB)), 100);
      return s;
    }

    /** A stream grown to 512 KiB (RTT 50 ms), its 512 KiB window all sent and unconsumed at 102 ms. */
    function grownAndFull(options: Partial<SessionOptions> = {}): Session {
      const s = firstWindowFull(options);
      s.consumed(1, 128 * KiB, 101);
      expect(takeLines(s)).to.deep.equal(['WINDOW_UPDATE stream=1 flags=- delta=393216']);
      s.receive(frame(Data, 0, 1, 0, Buffer.alloc(384 * KiB)), 102);
      expect(s.streamInfo(1)).to.include({ recvWindowBytes: 512 * KiB, recvCreditBytes: 0, recvBufferedBytes: 512 * KiB });
      return s;
    }

    it('a grown window drained slowly twice in a row shrinks: credit already granted stands, later updates grant less', () => {
      const s = grownAndFull();
      // Half of the 512 KiB window took 400 ms, 8 round trips: once may be this process, not the consumer.
      s.consumed(1, 256 * KiB, 501);
      expect(takeLines(s)).to.deep.equal(['WINDOW_UPDATE stream=1 flags=- delta=262144']);
      expect(s.streamInfo(1)).to.include({ recvWindowBytes: 512 * KiB });
      s.receive(frame(Data, 0, 1, 0, Buffer.alloc(256 * KiB)), 502);
      // Twice in a row: back to 256 KiB, and with 512 KiB buffered nothing is owed.
      s.consumed(1, 256 * KiB, 901);
      expect(s.hasOutbound).to.equal(false);
      expect(s.streamInfo(1)).to.include({ recvWindowBytes: 256 * KiB, recvCreditBytes: 0, recvBufferedBytes: 256 * KiB });
      expect(s.stats).to.include({ windowsGrown: 1, windowsShrunk: 1 });
      // The peer still holds no credit; once half the smaller window is consumed it gets that much.
      s.consumed(1, 128 * KiB, 1000);
      expect(takeLines(s)).to.deep.equal(['WINDOW_UPDATE stream=1 flags=- delta=131072']);
      expect(s.streamInfo(1)).to.include({ recvWindowBytes: 256 * KiB, recvCreditBytes: 128 * KiB, recvBufferedBytes: 128 * KiB });
      expect(errorOf(s.receive(frame(Data, 0, 1, 128 * KiB + 1), 1001))).to.be.instanceOf(ReceiveWindowExceededError);
    });

    it('a slow epoch between fast ones shrinks nothing: the streak starts over', () => {
      const s = grownAndFull({ maxWindowBytes: 512 * KiB });
      s.consumed(1, 256 * KiB, 501); // slow
      s.receive(frame(Data, 0, 1, 0, Buffer.alloc(256 * KiB)), 502);
      s.consumed(1, 256 * KiB, 503); // fast
      s.receive(frame(Data, 0, 1, 0, Buffer.alloc(256 * KiB)), 504);
      s.consumed(1, 256 * KiB, 904); // slow
      expect(s.streamInfo(1)!.recvWindowBytes).to.equal(512 * KiB);
      expect(s.stats.windowsShrunk).to.equal(0);
    });

    it('a shrink gives its growth back to the window budget', () => {
      const budget = new MemoryBudget({ budgetBytes: 1024 * KiB });
      const s = grownAndFull({ windowBudget: budget });
      expect(budget.usedBytes).to.equal(256 * KiB);
      s.consumed(1, 256 * KiB, 501);
      s.receive(frame(Data, 0, 1, 0, Buffer.alloc(256 * KiB)), 502);
      s.consumed(1, 256 * KiB, 901);
      expect(budget.usedBytes).to.equal(0);
    });

    it('a slow drain (half the window over more than two round trips) does not grow the window', () => {
      const s = firstWindowFull();
      s.consumed(1, 128 * KiB, 200);
      expect(takeLines(s)).to.deep.equal(['WINDOW_UPDATE stream=1 flags=- delta=131072']);
      expect(s.streamInfo(1)?.recvWindowBytes).to.equal(256 * KiB);
    });

    it('counts window updates both ways: sent with credit, received with credit on a live stream', () => {
      const s = withStream();
      s.receive(frame(Data, 0, 1, 0, Buffer.alloc(128 * KiB)), 0);
      s.consumed(1, 128 * KiB, 1);
      s.receive(frame(WindowUpdate, 0, 1, 5), 2);
      s.receive(frame(WindowUpdate, 0, 1, 0), 3);
      s.receive(frame(WindowUpdate, RST, 1, 7), 4);
      s.receive(frame(WindowUpdate, 0, 1, 9), 5);
      expect(s.stats).to.include({ windowUpdatesSent: 1, windowUpdatesReceived: 2 });
    });

    it('grants nothing once the peer has sent FIN', () => {
      const s = withStream();
      s.receive(frame(Data, FIN, 1, 0, Buffer.alloc(256 * KiB)), 0);
      s.consumed(1, 256 * KiB, 0);
      expect(s.hasOutbound).to.equal(false);
    });

    it('a window update past 2^32-1 is a protocol error', () => {
      const s = withStream();
      s.receive(frame(WindowUpdate, 0, 1, 0xffffffff - 256 * KiB), 0);
      expect(s.streamInfo(1)?.sendCreditBytes).to.equal(0xffffffff);
      expect(errorOf(s.receive(frame(WindowUpdate, 0, 1, 1), 0))).to.be.instanceOf(WindowOverflowError);
    });

    it('never sends more than the credit, splits into 64 KiB frames, and says when to wait', () => {
      const s = withStream();
      const big = Buffer.alloc(300 * KiB, 7);
      expect(s.send(1, big)).to.deep.equal({ sentBytes: 256 * KiB, canSendMore: false });
      const batch = s.takeOutbound();
      expect(batch.buffers.map((b) => b.length)).to.deep.equal([12, 65536, 12, 65536, 12, 65536, 12, 65536]);
      expect(batch.buffers[1].buffer).to.equal(big.buffer);
      expect(batch.buffers[7].byteOffset).to.equal(big.byteOffset + 3 * 65536);
      expect(s.send(1, big.subarray(256 * KiB))).to.deep.equal({ sentBytes: 0, canSendMore: false });
      expect(summarize(s.receive(frame(WindowUpdate, 0, 1, 1023), 0))).to.deep.equal([]);
      expect(summarize(s.receive(frame(WindowUpdate, 0, 1, 1), 0))).to.deep.equal(['writable 1']);
      expect(s.send(1, big.subarray(256 * KiB))).to.deep.equal({ sentBytes: 1024, canSendMore: false });
    });

    it('does not split a write into a piece under minSendFrameBytes, but sends a small write that fits', () => {
      const s = withStream({ minSendFrameBytes: 1024 });
      s.send(1, Buffer.alloc(256 * KiB - 500));
      takeFrames(s);
      expect(s.send(1, Buffer.alloc(2000))).to.deep.equal({ sentBytes: 0, canSendMore: false });
      expect(s.send(1, Buffer.alloc(300))).to.deep.equal({ sentBytes: 300, canSendMore: false });
      expect(s.send(1, Buffer.alloc(0))).to.deep.equal({ sentBytes: 0, canSendMore: false });
    });

    it('reports writable only for a stream whose send came up short', () => {
      const s = withStream();
      s.send(1, Buffer.alloc(10));
      expect(s.receive(frame(WindowUpdate, 0, 1, 5000), 0)).to.deep.equal([]);
    });
  });

  describe('chunking matrix', () => {
    const script = Buffer.concat([
      frame(Data, SYN, 1, 0, Buffer.from('hello, ')),
      frame(Ping, SYN, 0, 77),
      frame(Data, 0, 1, 0, Buffer.alloc(3000, 1)),
      frame(WindowUpdate, SYN, 3, 0),
      frame(WindowUpdate, 0, 1, 4096),
      frame(Data, FIN, 1, 0, Buffer.from('world')),
      frame(Data, RST, 3, 0, Buffer.alloc(40, 2)),
      frame(GoAway, 0, 0, 0),
    ]);
    const reference = run([script]);

    function run(chunks: Buffer[]): { events: string[]; data: Record<number, string>; out: string[] } {
      const s = acceptor();
      const events: string[] = [];
      const data: Record<number, string> = {};
      for (const chunk of chunks) {
        for (const e of s.receive(chunk, 0)) {
          if (e.type === 'data') data[e.streamId] = (data[e.streamId] ?? '') + e.bytes.toString('hex');
          else events.push(summarize([e])[0]);
        }
      }
      return { events, data, out: takeLines(s) };
    }

    it('the whole script gives the expected events', () => {
      expect(reference.events).to.deep.equal(['streamOpened 1', 'streamOpened 3', 'streamEnded 1', 'streamReset 3', 'goAway 0']);
      expect(reference.out).to.deep.equal(['PING stream=0 flags=ACK opaque=77']);
    });

    for (const chunking of chunkings()) {
      it(`${chunking.name}: same events, same bytes, same replies as in one piece`, () => {
        expect(run(chunking.split(script))).to.deep.equal(reference);
      });
    }
  });

  describe('limits', () => {
    it('maxStreams: exactly at the limit is accepted, one past is refused with RST', () => {
      const s = acceptor({ maxStreams: 2 });
      const events = s.receive(Buffer.concat([1, 3, 5].map((id) => frame(WindowUpdate, SYN, id, 0))), 0);
      expect(summarize(events)).to.deep.equal(['streamOpened 1', 'streamOpened 3']);
      const batch = s.takeOutbound();
      expect(batch.controlReplies).to.equal(1);
      expect(s.stats.streamsRefused).to.equal(1);
      expect(s.open()).to.deep.equal({ ok: false, reason: 'too-many-streams' });
      expect(s.receive(frame(Data, 0, 5, 0, Buffer.alloc(4)), 0)).to.deep.equal([]);
    });

    it('acceptBacklog: streams not yet accepted are capped; accepting frees a slot', () => {
      const s = acceptor({ acceptBacklog: 2 });
      expect(summarize(s.receive(Buffer.concat([1, 3, 5].map((id) => frame(WindowUpdate, SYN, id, 0))), 0))).to.deep.equal(['streamOpened 1', 'streamOpened 3']);
      expect(takeLines(s)).to.deep.equal(['WINDOW_UPDATE stream=5 flags=RST delta=0']);
      s.accept(1);
      expect(summarize(s.receive(frame(WindowUpdate, SYN, 7, 0), 0))).to.deep.equal(['streamOpened 7']);
    });

    it('queued control replies: exactly the cap is fine, one more is a flood; flushing frees room', () => {
      const s = acceptor({ maxQueuedControlReplies: 3 });
      expect(s.receive(Buffer.concat([1, 2, 3].map((n) => frame(Ping, SYN, 0, n))), 0)).to.deep.equal([]);
      const batch = s.takeOutbound();
      expect(batch.controlReplies).to.equal(3);
      const err = errorOf(s.receive(frame(Ping, SYN, 0, 4), 0));
      expect(err).to.be.instanceOf(ControlReplyFloodError);
      expect(err.message).to.equal('more than 3 control replies queued and not flushed');

      const t = acceptor({ maxQueuedControlReplies: 3 });
      for (let i = 0; i < 100; i++) {
        expect(t.receive(frame(Ping, SYN, 0, i), 0)).to.deep.equal([]);
        t.flushed(t.takeOutbound());
      }
    });

    it('empty frames: one alone is tolerated, two in a row are a flood (zero-delta updates count)', () => {
      const s = withStream();
      expect(s.receive(Buffer.concat([frame(Data, 0, 1, 0), frame(WindowUpdate, 0, 1, 5), frame(WindowUpdate, 0, 1, 0), frame(Ping, SYN, 0, 1)]), 0)).to.deep.equal([]);
      const err = errorOf(s.receive(Buffer.concat([frame(Data, 0, 1, 0), frame(WindowUpdate, 0, 1, 0)]), 0));
      expect(err).to.be.instanceOf(EmptyFrameFloodError);
      expect(err.code).to.equal('ERR_EMPTY_FRAME_FLOOD');
    });

    it('frames with flags and no payload are not empty', () => {
      const s = acceptor();
      const events = s.receive(Buffer.concat([frame(Data, SYN, 1, 0), frame(Data, FIN, 1, 0), frame(WindowUpdate, SYN, 3, 0)]), 0);
      expect(summarize(events)).to.deep.equal(['streamOpened 1', 'streamEnded 1', 'streamOpened 3']);
    });

    it('window updates beyond 5 + 2 * (streams + 10 * data frames sent) are a flood', () => {
      const s = withStream();
      const updates = (n: number) => Buffer.concat(Array.from({ length: n }, () => frame(WindowUpdate, 0, 1, 1)));
      expect(s.receive(updates(7), 0)).to.deep.equal([]);
      const err = errorOf(s.receive(updates(1), 0));
      expect(err).to.be.instanceOf(WindowUpdateFloodError);
      expect(err.message).to.equal('8 window updates received, only 7 justified by the data sent');

      const t = withStream();
      t.send(1, Buffer.alloc(10));
      expect(t.receive(updates(27), 0)).to.deep.equal([]);
      expect(errorOf(t.receive(updates(1), 0))).to.be.instanceOf(WindowUpdateFloodError);
    });

    it('resets: the burst passes, one more at the same instant is a flood, time refills it', () => {
      const s = acceptor({ resetBurst: 3, resetsPerSecond: 1 });
      const openReset = (id: number) => Buffer.concat([frame(WindowUpdate, SYN, id, 0), frame(WindowUpdate, RST, id, 0)]);
      expect(summarize(s.receive(Buffer.concat([openReset(1), openReset(3), openReset(5)]), 0))).to.have.length(6);
      expect(summarize(s.receive(openReset(7), 1000))).to.deep.equal(['streamOpened 7', 'streamReset 7']);
      const err = errorOf(s.receive(openReset(9), 1000));
      expect(err).to.be.instanceOf(ResetFloodError);
      expect(err.code).to.equal('ERR_RESET_FLOOD');
    });

    it('resets of streams we answered (sent payload on) do not spend the reset budget: a client closing with RST after its exchange is no churn', () => {
      const s = acceptor({ resetBurst: 1, resetsPerSecond: 0 });
      for (let id = 1; id <= 9; id += 2) {
        expect(summarize(s.receive(frame(WindowUpdate, SYN, id, 0), 0))).to.deep.equal([`streamOpened ${id}`]);
        expect(s.send(id, Buffer.from('answer')).sentBytes).to.equal(6);
        expect(summarize(s.receive(frame(WindowUpdate, RST, id, 0), 0))).to.deep.equal([`streamReset ${id}`]);
      }
      // One unanswered reset is within the burst; a second is the flood.
      const openReset = (id: number) => Buffer.concat([frame(WindowUpdate, SYN, id, 0), frame(WindowUpdate, RST, id, 0)]);
      expect(summarize(s.receive(openReset(11), 0))).to.deep.equal(['streamOpened 11', 'streamReset 11']);
      expect(errorOf(s.receive(openReset(13), 0))).to.be.instanceOf(ResetFloodError);
    });

    it('resets of streams we opened (refusals, cancels) do not spend the reset budget', () => {
      const s = dialer({ resetBurst: 1, resetsPerSecond: 0 });
      for (let i = 0; i < 5; i++) {
        const opened = s.open();
        expect(opened.ok).to.equal(true);
        const id = (opened as { streamId: number }).streamId;
        expect(summarize(s.receive(frame(WindowUpdate, RST, id, 0), 0))).to.deep.equal([`streamReset ${id}`]);
      }
    });

    it('an unexpected failure inside becomes an InternalError with go away 2, never an exception', () => {
      const s = withStream();
      sinon.stub(s as unknown as { handlePart: () => void }, 'handlePart').throws(new TypeError('boom'));
      const err = errorOf(s.receive(frame(Ping, SYN, 0, 1), 0));
      expect(err).to.be.instanceOf(InternalError);
      expect(err).to.include({ code: 'ERR_INTERNAL', goAwayCode: 2, message: 'internal error: boom' });
      expect(takeLines(s)).to.deep.equal(['GO_AWAY stream=0 flags=- code=2 (internal error)']);
    });
  });

  it('error classes carry their class through instanceof', () => {
    const s = acceptor();
    expect(errorOf(s.receive(frame(4, 0, 0, 0), 0))).to.be.instanceOf(UnknownFrameTypeError);
    const t = acceptor();
    expect(errorOf(t.receive(Buffer.concat([frame(WindowUpdate, SYN, 1, 0), frame(WindowUpdate, SYN, 1, 0)]), 0))).to.be.instanceOf(DuplicateStreamError);
    const u = acceptor();
    expect(errorOf(u.receive(frame(WindowUpdate, 0, 9, 0), 0))).to.be.instanceOf(InvalidStreamIdError);
  });
});
