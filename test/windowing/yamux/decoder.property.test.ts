import { expect } from 'chai';
import fc from 'fast-check';
import {
  encodeFrame,
  FrameDecoder,
  FrameTooLargeError,
  UnknownFrameTypeError,
  UnsupportedVersionError,
  type FrameHeader,
  type FramePart,
} from '../../../windowing/index.js';
import { cutAtFractions, reassemble } from '../../helpers/chunking.js';
import { naiveDecode, naiveEncode } from '../../helpers/naive-codec.js';

const u32 = fc.integer({ min: 0, max: 0xffffffff });

/** Any valid frame: data with a real payload, or a control frame with any u32 length. */
const frameArb = fc.oneof(
  fc.record({ type: fc.constant(0), flags: fc.integer({ min: 0, max: 0xffff }), streamId: u32, payload: fc.uint8Array({ maxLength: 300 }) }),
  fc.record({ type: fc.integer({ min: 1, max: 3 }), flags: fc.integer({ min: 0, max: 0xffff }), streamId: u32, length: u32 }),
).map((f) => {
  const payload = 'payload' in f ? Buffer.from(f.payload) : Buffer.alloc(0);
  const length = 'payload' in f ? payload.length : f.length;
  const header: FrameHeader = { version: 0, type: f.type as FrameHeader['type'], flags: f.flags, streamId: f.streamId, length };
  return { header, payload };
});

const cutsArb = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 20 });

describe('FrameDecoder properties (fast-check)', () => {
  it('round trip: any frames, cut anywhere, decode to exactly what was encoded (and what the naive decoder reads)', () => {
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 12 }), cutsArb, (frames, cuts) => {
        const bytes = Buffer.concat(frames.flatMap((f) => encodeFrame(f.header, f.header.type === 0 ? f.payload : undefined)));
        const decoder = new FrameDecoder({ maxFrameBytes: 0xffffffff });
        const parts: FramePart[] = [];
        for (const chunk of cutAtFractions(bytes, cuts)) {
          parts.push(...decoder.push(chunk));
          expect(decoder.bufferedBytes).to.be.below(12);
        }
        const decoded = reassemble(parts);
        expect(decoded.map((d) => d.header)).to.deep.equal(frames.map((f) => f.header));
        expect(decoded.map((d) => [...d.payload])).to.deep.equal(frames.map((f) => [...f.payload]));
        expect(naiveDecode(bytes)).to.deep.equal(frames.map((f) => ({ ...f.header, payload: [...f.payload] })));
        const naiveBytes = Buffer.concat(frames.map((f) => naiveEncode({ ...f.header, payload: [...f.payload] })));
        expect(naiveBytes.equals(bytes)).to.equal(true);
      }),
      { numRuns: 300 },
    );
  });

  it('arbitrary bytes: only parts or its own typed errors, never more than a partial header held', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), cutsArb, fc.integer({ min: 0, max: 64 }), (raw, cuts, maxFrameBytes) => {
        const bytes = Buffer.from(raw);
        const decoder = new FrameDecoder({ maxFrameBytes });
        let payloadBytes = 0;
        let pushed = 0;
        let failed = false;
        for (const chunk of cutAtFractions(bytes, cuts)) {
          pushed += chunk.length;
          let parts: FramePart[];
          try {
            parts = decoder.push(chunk);
          } catch (err) {
            const typed = err instanceof UnsupportedVersionError || err instanceof UnknownFrameTypeError || err instanceof FrameTooLargeError;
            expect(typed, String(err)).to.equal(true);
            failed = true;
            break;
          }
          for (const p of parts) {
            expect(p.payload.length).to.be.at.most(maxFrameBytes);
            expect(p.offset + p.payload.length).to.be.at.most(p.header.type === 0 ? p.header.length : 0);
            payloadBytes += p.payload.length;
          }
          expect(decoder.bufferedBytes).to.be.below(12);
          expect(payloadBytes).to.be.at.most(pushed);
        }
        if (failed) expect(decoder.error).to.not.equal(null);
      }),
      { numRuns: 1000 },
    );
  });
});
