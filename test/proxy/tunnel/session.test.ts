import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import sinon from 'sinon';
import { Flag, FrameDecoder, FrameType, describeFrame, encodeFrame, type FrameHeader } from '../../../windowing/index.js';
import {
  HandshakeTimeoutError,
  KeepaliveTimeoutError,
  LinkLostError,
  StreamResetError,
  TunnelProtocolError,
  TunnelSession,
  TunnelStream,
  type TunnelSessionOptions,
} from '../../../proxy/index.js';
import { duplexPair, linkPair, type LinkKind } from '../../helpers/duplex-pair.js';
import { BufferPool } from '../../../proxy/memory/buffer-pool.js';
import { LinkReads, LINK_READ_BUFFER_BYTES } from '../../../proxy/tunnel/link-reads.js';
import { SMALL_PIECE_PIN_BYTES } from '../../../proxy/tunnel/session.js';
import { randomBytes, randomChunks, sha256 } from '../../../scenarios/harness/random.js';

const KiB = 1024;
const WINDOW = 256 * KiB;

interface Pair {
  dialer: TunnelSession;
  acceptor: TunnelSession;
}

/** Reads a stream to its end: byte count and sha256. */
function drain(stream: Duplex): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  return new Promise((resolve, reject) => {
    stream.on('data', (d: Buffer) => {
      hash.update(d);
      bytes += d.length;
    });
    stream.once('end', () => resolve({ bytes, sha256: hash.digest('hex') }));
    stream.once('error', reject);
  });
}

/** Resolves once a stream has emitted 'close' (at once if it already has). */
function whenClosed(stream: Duplex): Promise<unknown> {
  return stream.closed ? Promise.resolve() : once(stream, 'close');
}

/** Writes pieces honouring write() === false, then ends. */
async function writeAll(stream: Duplex, pieces: Buffer[]): Promise<void> {
  for (const p of pieces) {
    if (!stream.write(p)) await once(stream, 'drain');
  }
  stream.end();
}

/** Frames on the wire, described, from raw bytes. */
function describeAll(bytes: Buffer): string[] {
  const out: string[] = [];
  for (const part of new FrameDecoder({ maxFrameBytes: 0xffffffff }).push(bytes)) if (part.start) out.push(describeFrame(part.header));
  return out;
}

describe('TunnelSession (library)', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function pair(kind: LinkKind, options: Partial<TunnelSessionOptions> = {}, acceptorOptions: Partial<TunnelSessionOptions> = {}): Promise<Pair> {
    const link = await linkPair(kind, { maxPiece: 3000, seed: 7 });
    const dialer = new TunnelSession(link.dialer, { role: 'dialer', ...options });
    const acceptor = new TunnelSession(link.acceptor, { role: 'acceptor', ...options, ...acceptorOptions });
    cleanups.push(async () => {
      dialer.destroy();
      acceptor.destroy();
      await link.close();
    });
    return { dialer, acceptor };
  }

  const transports = { memory: 'an in-memory pair (random 1..3000-byte pieces)', tcp: 'TCP on 127.0.0.1', unix: 'a unix socket' } as const;
  for (const kind of ['memory', 'tcp', 'unix'] as const) {
    describe(`over ${transports[kind]}`, () => {
      for (const seed of [1, 2]) {
        it(`echoes 6 concurrent streams of random sizes and random writes intact, both ways (seed ${seed})`, async () => {
          const { dialer, acceptor } = await pair(kind);
          acceptor.on('stream', (s: TunnelStream) => s.pipe(s));
          const results = await Promise.all(
            Array.from({ length: 6 }, async (_, i) => {
              const data = randomBytes(1000 + ((seed * 7919 * (i + 1)) % 900_000), seed * 100 + i);
              const s = dialer.open();
              const [echo] = await Promise.all([drain(s), writeAll(s, randomChunks(data, 70_000, seed + i))]);
              return { echo, want: { bytes: data.length, sha256: sha256(data) } };
            }),
          );
          for (const r of results) expect(r.echo).to.deep.equal(r.want);
          await new Promise((r) => setImmediate(r));
          expect(dialer.streamCount).to.equal(0);
          expect(acceptor.streamCount).to.equal(0);
          expect(dialer.framing.streamCount).to.equal(0);
        });
      }

      it('write() returns false exactly when the peer window is spent, and drain follows the reader', async () => {
        const { dialer, acceptor } = await pair(kind, { autoTune: false });
        const arrived = once(acceptor, 'stream');
        const s = dialer.open();
        const results: boolean[] = [];
        for (let i = 0; i < 4; i++) results.push(s.write(Buffer.alloc(64 * KiB, i)));
        expect(results).to.deep.equal([true, true, true, false]);
        const [peer] = (await arrived) as [TunnelStream];
        // Nothing more goes out while the reader takes nothing.
        await new Promise((r) => setTimeout(r, 20));
        expect(peer.readableLength).to.equal(WINDOW);
        const drained = once(s, 'drain');
        expect(peer.read(128 * KiB)).to.have.length(128 * KiB);
        await drained;
        expect(s.write(Buffer.alloc(1))).to.equal(true);
      });

      it('small writes: false on the write that no longer fits in the window', async () => {
        const { dialer, acceptor } = await pair(kind, { autoTune: false });
        acceptor.on('stream', () => {});
        const s = dialer.open();
        let n = 0;
        while (s.write(Buffer.alloc(1000))) n++;
        expect(n).to.equal(Math.floor(WINDOW / 1000));
      });

      it("'manual' credit: reading earns nothing, acknowledge() does", async () => {
        const { dialer, acceptor } = await pair(kind, { autoTune: false }, { credit: 'manual' });
        const arrived = once(acceptor, 'stream');
        const s = dialer.open();
        for (let i = 0; i < 5; i++) s.write(Buffer.alloc(64 * KiB, i));
        const [peer] = (await arrived) as [TunnelStream];
        let got = 0;
        peer.on('data', (d: Buffer) => (got += d.length));
        await new Promise((r) => setTimeout(r, 20));
        expect(got).to.equal(WINDOW);
        expect(peer.unacknowledgedBytes).to.equal(WINDOW);
        expect(() => peer.acknowledge(WINDOW + 1)).to.throw(RangeError, /cannot acknowledge 262145 bytes, 262144 are unacknowledged/);
        peer.acknowledge(WINDOW / 2);
        await new Promise((r) => setTimeout(r, 20));
        expect(got).to.equal(WINDOW + 64 * KiB);
      });

      it('half-close both ways: the side that ended first keeps receiving', async () => {
        const { dialer, acceptor } = await pair(kind);
        const arrived = once(acceptor, 'stream');
        const s = dialer.open();
        s.end('question');
        const [peer] = (await arrived) as [TunnelStream];
        const asked = await drain(peer);
        expect(asked.bytes).to.equal(8);
        const reply = randomBytes(700_000, 3);
        const [got] = await Promise.all([drain(s), writeAll(peer, randomChunks(reply, 50_000, 3))]);
        expect(got).to.deep.equal({ bytes: reply.length, sha256: sha256(reply) });
        await Promise.all([whenClosed(s), whenClosed(peer)]);
        expect(dialer.framing.streamCount + acceptor.framing.streamCount).to.equal(0);
      });

      it('destroy() resets the stream: the peer sees a StreamResetError (ECONNRESET), others go on', async () => {
        const { dialer, acceptor } = await pair(kind);
        const peers: TunnelStream[] = [];
        acceptor.on('stream', (p: TunnelStream) => peers.push(p));
        const a = dialer.open();
        const b = dialer.open();
        a.write('x');
        b.write('y');
        await new Promise((r) => setTimeout(r, 10));
        const failed = once(a, 'error');
        peers[0]!.destroy();
        const [err] = (await failed) as [StreamResetError];
        expect(err).to.be.instanceOf(StreamResetError);
        expect(err.code).to.equal('ECONNRESET');
        expect(err.message).to.equal('stream 1 was reset by the peer');
        peers[1]!.end('still here');
        b.end();
        expect((await drain(b)).bytes).to.equal(10);
      });

      it('go away: no new streams either way, the live ones finish', async () => {
        const { dialer, acceptor } = await pair(kind);
        const arrived = once(acceptor, 'stream');
        acceptor.on('stream', (p: TunnelStream) => p.pipe(p));
        const s = dialer.open();
        s.write('before');
        await arrived;
        const told = once(dialer, 'goAway');
        acceptor.goAway();
        expect(await told).to.deep.equal([0]);
        expect(dialer.tryOpen()).to.equal('go-away');
        expect(dialer.isOpen).to.equal(false);
        s.end('after');
        expect((await drain(s)).bytes).to.equal(11);
      });

      it('close() lets live streams finish, then closes the link cleanly', async () => {
        const { dialer, acceptor } = await pair(kind);
        acceptor.on('stream', (p: TunnelStream) => p.pipe(p));
        const s = dialer.open();
        const echo = drain(s);
        const closing = dialer.close();
        s.end(randomBytes(300_000, 9));
        expect((await echo).bytes).to.equal(300_000);
        expect(await closing).to.equal(null);
        expect(await acceptor.done).to.equal(null);
      });

      it('a link that drops ends every stream with LinkLostError and closes the session', async () => {
        const { dialer, acceptor } = await pair(kind);
        acceptor.on('stream', () => {});
        const s = dialer.open();
        s.write('x');
        const failed = once(s, 'error');
        const closed = once(dialer, 'close');
        acceptor.link.destroy();
        const [err] = (await failed) as [LinkLostError];
        expect(err).to.be.instanceOf(LinkLostError);
        expect(err.code).to.equal('ERR_TUNNEL_LINK_LOST');
        const [why] = (await closed) as [Error];
        expect(why).to.be.instanceOf(LinkLostError);
        expect(dialer.tryOpen()).to.equal('terminated');
      });

      it('measures the round trip with ping()', async () => {
        const { dialer } = await pair(kind);
        const ms = await dialer.ping();
        expect(ms).to.be.a('number').and.at.least(0);
        expect(dialer.rttMs).to.be.a('number');
      });
    });
  }

  describe('against a scripted peer', () => {
    function raw(options: Partial<TunnelSessionOptions> = {}): { session: TunnelSession; peer: Duplex; wire: () => string[] } {
      const [ours, peer] = duplexPair();
      const session = new TunnelSession(ours, { role: 'acceptor', ...options });
      const received: Buffer[] = [];
      peer.on('data', (d: Buffer) => received.push(d));
      cleanups.push(() => {
        session.destroy();
        peer.destroy();
      });
      return { session, peer, wire: () => describeAll(Buffer.concat(received)) };
    }
    const frame = (type: number, flags: number, streamId: number, length: number, payload?: Buffer): Buffer =>
      Buffer.concat(encodeFrame({ type: type as FrameHeader['type'], flags, streamId, length }, payload));

    it('refuses a stream with RST when nobody listens for streams', async () => {
      const { peer, wire } = raw({ keepaliveIntervalMs: 0 });
      peer.write(frame(FrameType.WindowUpdate, Flag.SYN, 1, 0));
      await new Promise((r) => setImmediate(r));
      expect(wire()).to.deep.equal(['PING stream=0 flags=SYN opaque=1', 'WINDOW_UPDATE stream=1 flags=RST delta=0']);
    });

    it('with autoAccept off, acknowledges a stream only on accept()', async () => {
      const { session, peer, wire } = raw({ keepaliveIntervalMs: 0, autoAccept: false });
      const arrived = once(session, 'stream');
      peer.write(frame(FrameType.WindowUpdate, Flag.SYN, 1, 0));
      const [s] = (await arrived) as [TunnelStream];
      await new Promise((r) => setImmediate(r));
      expect(wire()).to.deep.equal(['PING stream=0 flags=SYN opaque=1']);
      expect(s.accept()).to.equal(true);
      expect(s.accept()).to.equal(true);
      await new Promise((r) => setImmediate(r));
      expect(wire().slice(1)).to.deep.equal(['WINDOW_UPDATE stream=1 flags=ACK delta=0']);
    });

    it('answers a protocol error with a go away (1), flushed before the link closes', async () => {
      const { session, peer, wire } = raw({ keepaliveIntervalMs: 0 });
      const closed = once(session, 'close');
      peer.write(Buffer.from([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
      const [err] = (await closed) as [TunnelProtocolError];
      expect(err).to.be.instanceOf(TunnelProtocolError);
      expect(err.code).to.equal('ERR_UNSUPPORTED_VERSION');
      expect(wire()).to.deep.equal(['PING stream=0 flags=SYN opaque=1', 'GO_AWAY stream=0 flags=- code=1 (protocol error)']);
    });

    it('copies a small piece of a large read, so a waiting stream cannot pin the read buffer', async () => {
      const { session, peer } = raw({ keepaliveIntervalMs: 0 });
      const streams: TunnelStream[] = [];
      session.on('stream', (s: TunnelStream) => streams.push(s));
      const big = Buffer.alloc(60 * KiB, 1);
      const chunk = Buffer.concat([
        frame(FrameType.WindowUpdate, Flag.SYN, 1, 0),
        frame(FrameType.WindowUpdate, Flag.SYN, 3, 0),
        frame(FrameType.Data, 0, 1, big.length, big),
        frame(FrameType.Data, 0, 3, 100, Buffer.alloc(100, 3)),
      ]);
      peer.write(chunk);
      await new Promise((r) => setImmediate(r));
      const [first, second] = streams.map((s) => s.read() as Buffer);
      expect(first!.length).to.equal(big.length);
      expect(second!.length).to.equal(100);
      expect(second!.buffer.byteLength).to.be.below(chunk.length / 4);
    });

    /** An acceptor reading its link through pooled buffers; `feed` lands bytes in one of them, as a link read does, and lets the session handle it. */
    function pooledReadSession(): { session: TunnelSession; feed: (wire: Buffer) => Promise<Buffer> } {
      const [ours, peer] = duplexPair();
      const reads = new LinkReads(new BufferPool({ bufferBytes: LINK_READ_BUFFER_BYTES, maxCached: 4 }));
      const session = new TunnelSession(ours, { role: 'acceptor', keepaliveIntervalMs: 0, credit: 'manual', reads });
      cleanups.push(() => {
        session.destroy();
        peer.destroy();
      });
      const feed = async (wire: Buffer): Promise<Buffer> => {
        const buffer = reads.onread.buffer();
        wire.copy(buffer);
        reads.onread.callback(wire.length, buffer);
        await new Promise((r) => setImmediate(r));
        return buffer;
      };
      return { session, feed };
    }

    it('pooled link reads: small pieces of one read buffer pin it once for their stream, however many there are (none copied)', async () => {
      const { session, feed } = pooledReadSession();
      const chunks: Buffer[] = [];
      let stream: TunnelStream | undefined;
      session.on('stream', (s: TunnelStream) => {
        stream = s;
        s.on('data', (d: Buffer) => chunks.push(d));
      });
      // 20 pieces of 1 KiB: 20 x 256 KiB counted per piece would be past SMALL_PIECE_PIN_BYTES (4 MiB).
      const wire = Buffer.concat([frame(FrameType.WindowUpdate, Flag.SYN, 1, 0), ...Array.from({ length: 20 }, (_, i) => frame(FrameType.Data, 0, 1, KiB, Buffer.alloc(KiB, i)))]);
      const buffer = await feed(wire);
      expect(chunks).to.have.length(20);
      expect(chunks.every((c) => c.buffer === buffer.buffer), 'every piece a view of the read buffer').to.equal(true);
      expect(stream!.pinnedSmallBytes).to.equal(LINK_READ_BUFFER_BYTES);
      for (const c of chunks.slice(0, 19)) stream!.releaseChunk(c);
      expect(stream!.pinnedSmallBytes).to.equal(LINK_READ_BUFFER_BYTES);
      stream!.releaseChunk(chunks[19]!);
      expect(stream!.pinnedSmallBytes).to.equal(0);
    });

    it('pooled link reads: the streams of one link together pin at most SMALL_PIECE_PIN_BYTES with small pieces; past it pieces are copied, and a stream that goes gives its share back', async () => {
      const { session, feed } = pooledReadSession();
      const got = new Map<number, { stream: TunnelStream; chunks: Buffer[] }>();
      session.on('stream', (s: TunnelStream) => {
        const entry = { stream: s, chunks: [] as Buffer[] };
        got.set(s.streamId, entry);
        s.on('data', (d: Buffer) => entry.chunks.push(d));
      });
      // A stalled stream each: one 1 KiB piece per stream, each from a read buffer of its own.
      const deliver = (id: number): Promise<Buffer> =>
        feed(Buffer.concat([frame(FrameType.WindowUpdate, Flag.SYN, id, 0), frame(FrameType.Data, 0, id, KiB, Buffer.alloc(KiB, id))]));
      const allowed = SMALL_PIECE_PIN_BYTES / LINK_READ_BUFFER_BYTES;
      const pinned = () => [...got.values()].reduce((sum, e) => sum + e.stream.pinnedSmallBytes, 0);
      const buffers: Buffer[] = [];
      for (let i = 0; i < allowed + 4; i++) buffers.push(await deliver(2 * i + 1));
      expect(pinned()).to.equal(SMALL_PIECE_PIN_BYTES);
      const views = [...got.values()].map((e, i) => e.chunks[0]!.buffer === buffers[i]!.buffer);
      expect(views.filter(Boolean)).to.have.length(allowed);
      expect(views.slice(allowed), 'past the allowance: copies').to.deep.equal([false, false, false, false]);
      got.get(1)!.stream.destroy();
      expect(pinned()).to.equal(SMALL_PIECE_PIN_BYTES - LINK_READ_BUFFER_BYTES);
      const again = await deliver(2 * (allowed + 4) + 1);
      expect(got.get(2 * (allowed + 4) + 1)!.chunks[0]!.buffer).to.equal(again.buffer);
    });

    describe('a peer that sends pings and never reads (fake timers)', () => {
      let clock: sinon.SinonFakeTimers;
      beforeEach(() => (clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })));
      afterEach(() => clock.restore());

      it('stops at 1000 unflushed ping replies with a flood error, and the link is closed after errorLingerMs (500 ms) though the go away cannot be flushed', async () => {
        const [ours, peer] = duplexPair({ highWaterMark: 16 });
        const session = new TunnelSession(ours, { role: 'acceptor', keepaliveIntervalMs: 0 });
        cleanups.push(() => {
          session.destroy();
          peer.destroy();
        });
        peer.pause(); // never reads: our writes stop completing once its buffer is full
        let closedWith: Error | null | undefined;
        session.on('close', (e: Error | null) => (closedWith = e));
        for (let i = 1; i <= 1001; i++) peer.write(frame(FrameType.Ping, Flag.SYN, 0, i));
        for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
        expect(session.error).to.be.instanceOf(TunnelProtocolError);
        expect((session.error as TunnelProtocolError).code).to.equal('ERR_CONTROL_REPLY_FLOOD');
        expect(closedWith).to.equal(undefined);
        await clock.tickAsync(499);
        for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
        expect(closedWith).to.equal(undefined);
        await clock.tickAsync(1);
        for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
        expect(closedWith).to.be.instanceOf(TunnelProtocolError);
        expect(ours.destroyed).to.equal(true);
      });
    });

    describe('keepalive (fake timers)', () => {
      let clock: sinon.SinonFakeTimers;
      beforeEach(() => (clock = sinon.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout', 'performance'] })));
      afterEach(() => clock.restore());

      it('pings every interval and closes the link when a ping goes unanswered for a whole interval', async () => {
        const { session, wire } = raw({ keepaliveIntervalMs: 30_000 });
        let closedWith: Error | null | undefined;
        session.on('close', (e: Error | null) => (closedWith = e));
        await clock.tickAsync(29_999);
        expect(wire()).to.deep.equal(['PING stream=0 flags=SYN opaque=1']);
        expect(closedWith).to.equal(undefined);
        await clock.tickAsync(1);
        expect(closedWith).to.be.instanceOf(KeepaliveTimeoutError);
        expect(closedWith!.message).to.equal('no reply to a keepalive ping within 30000 ms');
      });

      it('handshakeTimeoutMs: a peer that has not answered the first ping by then is cut off', async () => {
        const { session } = raw({ keepaliveIntervalMs: 0, handshakeTimeoutMs: 1_000 });
        let closedWith: Error | null | undefined;
        session.on('close', (e: Error | null) => (closedWith = e));
        await clock.tickAsync(999);
        expect(closedWith).to.equal(undefined);
        await clock.tickAsync(1);
        expect(closedWith).to.be.instanceOf(HandshakeTimeoutError);
        expect((closedWith as HandshakeTimeoutError).code).to.equal('ERR_TUNNEL_HANDSHAKE_TIMEOUT');
        expect(closedWith!.message).to.equal('no reply to the first ping within 1000 ms');
      });

      it('handshakeTimeoutMs: an answer to the first ping just in time ends the deadline', async () => {
        const { session, peer } = raw({ keepaliveIntervalMs: 0, handshakeTimeoutMs: 1_000 });
        await clock.tickAsync(999);
        peer.write(frame(FrameType.Ping, Flag.ACK, 0, 1));
        await clock.tickAsync(10_000);
        expect(session.isClosed).to.equal(false);
      });

      it('rejects a handshakeTimeoutMs or errorLingerMs that is not a whole number >= 0', () => {
        const [a] = duplexPair();
        cleanups.push(() => a.destroy());
        expect(() => new TunnelSession(a, { role: 'dialer', handshakeTimeoutMs: -1 })).to.throw(RangeError, 'handshakeTimeoutMs must be a whole number from 0 to 2147483647, got -1');
        expect(() => new TunnelSession(a, { role: 'dialer', errorLingerMs: 1.5 })).to.throw(RangeError, 'errorLingerMs must be a whole number from 0 to 2147483647, got 1.5');
      });

      it('an answered ping keeps the link up and gives a round-trip time; the first answer is followed by a second ping at once', async () => {
        const { session, peer, wire } = raw({ keepaliveIntervalMs: 30_000 });
        const answer = (opaque: number) => peer.write(frame(FrameType.Ping, Flag.ACK, 0, opaque));
        await clock.tickAsync(40);
        answer(1);
        await clock.tickAsync(0);
        expect(session.rttMs).to.equal(40);
        // The first answer may have waited on a process still starting up: a second sample follows.
        expect(wire()).to.deep.equal(['PING stream=0 flags=SYN opaque=1', 'PING stream=0 flags=SYN opaque=2']);
        await clock.tickAsync(2);
        answer(2);
        await clock.tickAsync(29_958);
        expect(session.rttMs).to.equal(2);
        expect(wire()).to.deep.equal(['PING stream=0 flags=SYN opaque=1', 'PING stream=0 flags=SYN opaque=2', 'PING stream=0 flags=SYN opaque=3']);
        answer(3);
        await clock.tickAsync(30_000);
        expect(session.isClosed).to.equal(false);
        expect(wire()).to.have.length(4);
      });
    });
  });
});
