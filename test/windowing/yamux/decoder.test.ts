import { expect } from 'chai';
import {
  DecoderState,
  describeFrame,
  encodeFrame,
  encodeHeader,
  Flag,
  FrameDecoder,
  FrameTooLargeError,
  FrameType,
  InvalidOptionError,
  ProtocolError,
  UnknownFrameTypeError,
  UnsupportedVersionError,
  type FramePart,
} from '../../../windowing/index.js';
import { chunkings, reassemble } from '../../helpers/chunking.js';
import { codecCases } from '../../helpers/codec-cases.js';
import { naiveDecode, naiveEncode } from '../../helpers/naive-codec.js';

function wire(): Buffer {
  return Buffer.concat(codecCases.map((c) => Buffer.from(naiveEncode({ ...c.header, payload: Array.from(c.payload) }))));
}

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

describe('FrameDecoder', () => {
  for (const { header, payload } of codecCases) {
    it(`${describeFrame(header)}: decodes what the naive encoder wrote, like the naive decoder`, () => {
      const bytes = Buffer.from(naiveEncode({ ...header, payload: Array.from(payload) }));
      const frames = reassemble(new FrameDecoder({ maxFrameBytes: 1 << 20 }).push(bytes));
      const naive = naiveDecode(bytes);
      expect(frames.map((f) => ({ ...f.header, payload: Array.from(f.payload) }))).to.deep.equal(naive);
      expect(frames[0].header).to.deep.equal(header);
    });
  }

  describe('chunking matrix', () => {
    const bytes = wire();
    const expected = naiveDecode(bytes);
    for (const chunking of chunkings()) {
      it(`${chunking.name}: ${expected.length} frames come out whole and in order, at most 11 bytes held`, () => {
        const decoder = new FrameDecoder();
        const parts: FramePart[] = [];
        let maxHeld = 0;
        for (const chunk of chunking.split(bytes)) {
          for (const part of decoder.push(chunk)) parts.push(part);
          maxHeld = Math.max(maxHeld, decoder.bufferedBytes);
        }
        expect(maxHeld).to.be.below(12);
        expect(decoder.state).to.equal(DecoderState.AwaitHeader);
        expect(decoder.bufferedBytes).to.equal(0);
        const frames = reassemble(parts);
        expect(frames.map((f) => ({ ...f.header, payload: Array.from(f.payload) }))).to.deep.equal(expected);
      });
    }

    it('many frames per chunk: 1000 small frames in one push', () => {
      const many = Buffer.concat(
        Array.from({ length: 1000 }, (_, i) => Buffer.concat(encodeFrame({ type: 0, flags: 0, streamId: 1 + 2 * i, length: 3 }, Buffer.from([i & 255, 1, 2])))),
      );
      const parts = new FrameDecoder().push(many);
      expect(parts).to.have.length(1000);
      expect(parts.every((p, i) => p.start && p.end && p.header.streamId === 1 + 2 * i && p.payload[0] === (i & 255))).to.equal(true);
    });
  });

  it('passes a payload on as views of the pushed chunk, never copies', () => {
    const chunk = Buffer.concat(encodeFrame({ type: 0, flags: 0, streamId: 1, length: 4 }, Buffer.from('abcd')));
    const [part] = new FrameDecoder().push(chunk);
    expect(part.payload.buffer).to.equal(chunk.buffer);
    expect(part.payload.byteOffset).to.equal(chunk.byteOffset + 12);
  });

  it('announces a data header at once, before any payload byte, and streams the rest as it arrives', () => {
    const decoder = new FrameDecoder();
    const header = encodeHeader({ type: FrameType.Data, flags: Flag.FIN, streamId: 5, length: 10 });
    const first = decoder.push(header);
    expect(first).to.have.length(1);
    expect(first[0]).to.include({ start: true, offset: 0, end: false });
    expect(first[0].payload.length).to.equal(0);
    expect(decoder.state).to.equal(DecoderState.AwaitPayload);
    const second = decoder.push(Buffer.from('abc'));
    expect(second.map((p) => [p.start, p.offset, p.payload.toString(), p.end])).to.deep.equal([[false, 0, 'abc', false]]);
    const third = decoder.push(Buffer.concat([Buffer.from('defghij'), ...encodeFrame({ type: 2, flags: 1, streamId: 0, length: 9 })]));
    expect(third.map((p) => [p.start, p.offset, p.payload.toString(), p.end, p.header.type])).to.deep.equal([
      [false, 3, 'defghij', true, 0],
      [true, 0, '', true, 2],
    ]);
    expect(second[0].header).to.equal(first[0].header);
  });

  it('pushing an empty chunk changes nothing', () => {
    const decoder = new FrameDecoder();
    expect(decoder.push(Buffer.alloc(0))).to.deep.equal([]);
    expect(decoder.push(Buffer.from([0, 0, 0]))).to.deep.equal([]);
    expect(decoder.push(new Uint8Array(0))).to.deep.equal([]);
    expect(decoder.bufferedBytes).to.equal(3);
  });

  describe('limits checked from the header alone', () => {
    const cases: [string, Buffer, new (...args: never[]) => ProtocolError, string, RegExp][] = [
      ['version 1', encodeHeader({ version: 1, type: 0, flags: 0, streamId: 1, length: 0 }), UnsupportedVersionError, 'ERR_UNSUPPORTED_VERSION', /^unsupported protocol version 1 \(only 0 is known\)$/],
      ['version 255', encodeHeader({ version: 255, type: 2, flags: 0, streamId: 0, length: 0 }), UnsupportedVersionError, 'ERR_UNSUPPORTED_VERSION', /version 255/],
      ['type 4', encodeHeader({ type: 4 as 0, flags: 0, streamId: 1, length: 0 }), UnknownFrameTypeError, 'ERR_UNKNOWN_FRAME_TYPE', /^unknown frame type 4$/],
      ['type 255', encodeHeader({ type: 255 as 0, flags: 0, streamId: 1, length: 0 }), UnknownFrameTypeError, 'ERR_UNKNOWN_FRAME_TYPE', /type 255/],
      [
        'a 4 GiB data frame',
        encodeHeader({ type: 0, flags: 0, streamId: 1, length: 0xffffffff }),
        FrameTooLargeError,
        'ERR_FRAME_TOO_LARGE',
        /^data frame of 4294967295 bytes exceeds the maximum frame size of 16777216 bytes$/,
      ],
      [
        'a data frame one past the maximum',
        encodeHeader({ type: 0, flags: 0, streamId: 1, length: 16 * 1024 * 1024 + 1 }),
        FrameTooLargeError,
        'ERR_FRAME_TOO_LARGE',
        /16777217 bytes/,
      ],
    ];
    for (const [what, header, cls, code, message] of cases) {
      it(`${what}: ${cls.name} (${code}) with no payload pushed, go away 1`, () => {
        const decoder = new FrameDecoder();
        const err = catchError(() => decoder.push(header));
        expect(err).to.be.instanceOf(cls);
        expect(err).to.be.instanceOf(ProtocolError);
        expect((err as ProtocolError).code).to.equal(code);
        expect((err as ProtocolError).goAwayCode).to.equal(1);
        expect((err as Error).message).to.match(message);
        expect(decoder.state).to.equal(DecoderState.Failed);
        expect(catchError(() => decoder.push(Buffer.alloc(1)))).to.equal(err);
      });
    }

    it('a data frame exactly at the maximum is accepted', () => {
      const parts = new FrameDecoder({ maxFrameBytes: 100 }).push(encodeHeader({ type: 0, flags: 0, streamId: 1, length: 100 }));
      expect(parts).to.have.length(1);
    });

    it('window updates, pings and go aways may carry 0xffffffff whatever the maximum', () => {
      const decoder = new FrameDecoder({ maxFrameBytes: 1 });
      const bytes = Buffer.concat([1, 2, 3].map((type) => encodeHeader({ type: type as 1, flags: 0, streamId: 0, length: 0xffffffff })));
      expect(decoder.push(bytes)).to.have.length(3);
    });

    it('hands over every frame before a bad header, then throws', () => {
      const good = Buffer.concat(encodeFrame({ type: 2, flags: 1, streamId: 0, length: 1 }));
      const bad = encodeHeader({ version: 1, type: 0, flags: 0, streamId: 1, length: 0 });
      const seen: number[] = [];
      const decoder = new FrameDecoder();
      const err = catchError(() => decoder.decode(Buffer.concat([good, good, bad]), (p) => seen.push(p.header.length)));
      expect(err).to.be.instanceOf(UnsupportedVersionError);
      expect(seen).to.deep.equal([1, 1]);
    });
  });

  it('rejects a maximum frame size outside u32', () => {
    expect(() => new FrameDecoder({ maxFrameBytes: 2 ** 32 })).to.throw(InvalidOptionError, /^maxFrameBytes must be a whole number in 0\.\.4294967295, got 4294967296$/);
  });
});
