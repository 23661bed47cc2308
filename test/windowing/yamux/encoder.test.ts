import { expect } from 'chai';
import {
  dataFrame,
  describeFrame,
  encodeFrame,
  encodeHeader,
  Flag,
  FrameType,
  goAwayFrame,
  HEADER_BYTES,
  InvalidFrameFieldError,
  pingFrame,
  windowUpdateFrame,
  type FrameFields,
} from '../../../windowing/index.js';
import { naiveEncode } from '../../helpers/naive-codec.js';
import { codecCases } from '../../helpers/codec-cases.js';

describe('encoder', () => {
  for (const { header, payload } of codecCases) {
    it(`${describeFrame(header)}: matches the naive encoder, header exactly 12 bytes, payload not copied`, () => {
      const buffers = encodeFrame(header, header.type === FrameType.Data ? payload : undefined);
      expect(buffers[0].length).to.equal(HEADER_BYTES);
      expect(Buffer.concat(buffers)).to.deep.equal(Buffer.from(naiveEncode({ ...header, payload: Array.from(payload) })));
      if (payload.length > 0) {
        expect(buffers).to.have.length(2);
        expect(buffers[1].buffer).to.equal(payload.buffer);
        expect(buffers[1].byteOffset).to.equal(payload.byteOffset);
      } else {
        expect(buffers).to.have.length(1);
      }
    });
  }

  it('wraps a plain Uint8Array payload without copying it', () => {
    const bytes = new Uint8Array([1, 2, 3, 4]).subarray(1);
    const [, payload] = dataFrame(1, 0, bytes);
    expect(payload.buffer).to.equal(bytes.buffer);
    expect([...payload]).to.deep.equal([2, 3, 4]);
    bytes[0] = 9;
    expect(payload[0]).to.equal(9);
  });

  it('builds the helper frames on the right stream ids', () => {
    expect(Buffer.concat(windowUpdateFrame(3, Flag.ACK, 7))).to.deep.equal(Buffer.from([0, 1, 0, 2, 0, 0, 0, 3, 0, 0, 0, 7]));
    expect(Buffer.concat(pingFrame(Flag.SYN, 0x01020304))).to.deep.equal(Buffer.from([0, 2, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4]));
    expect(Buffer.concat(goAwayFrame())).to.deep.equal(Buffer.from([0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
    expect(Buffer.concat(goAwayFrame(2))).to.deep.equal(Buffer.from([0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]));
  });

  const bad: [string, FrameFields, Uint8Array | undefined, RegExp][] = [
    ['version 256', { version: 256, type: 0, flags: 0, streamId: 1, length: 0 }, undefined, /^version: must be a whole number in 0\.\.255, got 256$/],
    ['type -1', { type: -1 as 0, flags: 0, streamId: 1, length: 0 }, undefined, /^type: .*got -1$/],
    ['flags 0x10000', { type: 1, flags: 0x10000, streamId: 1, length: 0 }, undefined, /^flags: must be a whole number in 0\.\.65535/],
    ['stream id 2^32', { type: 1, flags: 0, streamId: 2 ** 32, length: 0 }, undefined, /^streamId: .*0\.\.4294967295, got 4294967296$/],
    ['length 1.5', { type: 1, flags: 0, streamId: 1, length: 1.5 }, undefined, /^length: .*got 1\.5$/],
    ['data length 4 with 3 payload bytes', { type: 0, flags: 0, streamId: 1, length: 4 }, new Uint8Array(3), /^length: data frame says 4 bytes but the payload has 3$/],
    ['a payload on a window update', { type: 1, flags: 0, streamId: 1, length: 1 }, new Uint8Array(1), /^payload: only data frames carry a payload$/],
  ];
  for (const [what, fields, payload, message] of bad) {
    it(`rejects ${what} with InvalidFrameFieldError`, () => {
      let caught: unknown;
      try {
        encodeFrame(fields, payload);
      } catch (err) {
        caught = err;
      }
      expect(caught).to.be.instanceOf(InvalidFrameFieldError);
      expect((caught as InvalidFrameFieldError).code).to.equal('ERR_INVALID_FRAME_FIELD');
      expect((caught as Error).message).to.match(message);
    });
  }

  it('encodes any u8 version and type, so tests can build bad frames', () => {
    expect([...encodeHeader({ version: 255, type: 200 as 0, flags: 0, streamId: 0, length: 0 })].slice(0, 2)).to.deep.equal([255, 200]);
  });
});
