import { expect } from 'chai';
import fc from 'fast-check';
import { encodeFrame, encodeHeader, HEADER_BYTES, ProtocolError, Session, type FrameHeader, type SessionEvent } from '../../../windowing/index.js';
import { cutAtFractions } from '../../helpers/chunking.js';

/**
 * A Session fed frames from a loose grammar (any type, any flags, small stream ids, lengths near
 * the limits, payloads that may or may not match), now and then raw bytes, cut anywhere: the
 * session never throws, reports at most one error and only a protocol error (an internal error
 * would be a bug of ours), goes quiet after it, and what it holds stays bounded by its limits
 * whatever the peer claims.
 */

const small = fc.integer({ min: 0, max: 12 });
const lengthArb = fc.oneof(fc.integer({ min: 0, max: 64 }), fc.constantFrom(256 * 1024, 256 * 1024 + 1, 0x7fffffff, 0xffffffff));

/** One piece of input: a frame (valid or not) or raw bytes. */
const pieceArb = fc.oneof(
  { weight: 8, arbitrary: fc.record({ type: fc.integer({ min: 0, max: 3 }), flags: fc.integer({ min: 0, max: 15 }), streamId: small, length: lengthArb }) },
  { weight: 1, arbitrary: fc.record({ raw: fc.uint8Array({ maxLength: 30 }) }) },
).map((p): Buffer => {
  if ('raw' in p) return Buffer.from(p.raw);
  const header = { type: p.type as FrameHeader['type'], flags: p.flags, streamId: p.streamId, length: p.length };
  // Data frames carry what they announce when it is small; otherwise the header goes alone.
  if (p.type === 0 && p.length > 0 && p.length <= 64) return Buffer.concat(encodeFrame(header, Buffer.alloc(p.length, 0xab)));
  return encodeHeader(header);
});

describe('Session fed a loose grammar of frames (fast-check)', () => {
  for (const role of ['acceptor', 'dialer'] as const) {
    it(`${role}: never throws, at most one error and only a protocol error, quiet after it, bounded state`, () => {
      fc.assert(
        fc.property(
          fc.array(pieceArb, { maxLength: 40 }),
          fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 10 }),
          fc.boolean(),
          fc.boolean(),
          (pieces, cuts, acceptStreams, openOne) => {
            const session = new Session({ role, maxStreams: 4, acceptBacklog: 3, maxQueuedControlReplies: 8 });
            if (openOne) session.open();
            const events: SessionEvent[] = [];
            let now = 0;
            for (const chunk of cutAtFractions(Buffer.concat(pieces), cuts)) {
              const before = events.length;
              const got = session.receive(chunk, (now += 5));
              events.push(...got);
              for (const e of got) {
                if (e.type === 'streamOpened' && acceptStreams) session.accept(e.streamId);
                if (e.type === 'data') session.consumed(e.streamId, e.bytes.length, now);
              }
              if (events.slice(0, before).some((e) => e.type === 'error')) expect(got, 'events after the error').to.deep.equal([]);
              expect(session.streamCount).to.be.at.most(4);
              // A few frames per frame received (a reply, an ACK, a grant), never in proportion to a claimed length.
              expect(session.outboundByteLength).to.be.at.most(HEADER_BYTES * (3 * pieces.length + 3));
              if (chunk.length % 3 === 0) session.flushed(session.takeOutbound());
            }
            const errors = events.filter((e) => e.type === 'error');
            expect(errors.length).to.be.at.most(1);
            for (const e of errors) {
              if (e.type !== 'error') continue;
              expect(e.error).to.be.instanceOf(ProtocolError);
              expect(e.goAwayCode).to.equal(1);
              expect(session.isTerminated).to.equal(true);
            }
          },
        ),
        { numRuns: Number(process.env.SLUICE_FUZZ_RUNS ?? 1500) },
      );
    });
  }
});
