import { expect } from 'chai';
import fc from 'fast-check';
import { crc32c } from '../../../windowing/index.js';
import { naiveCrc32c } from '../../helpers/naive-proxy-header.js';

describe('crc32c', () => {
  // RFC 3720 appendix B.4 (iSCSI CRC32C examples) and the usual check value.
  const vectors: [string, Buffer, number][] = [
    ['32 bytes of zeros', Buffer.alloc(32), 0x8a9136aa],
    ['32 bytes of 0xff', Buffer.alloc(32, 0xff), 0x62a8ab43],
    ['32 incrementing bytes 0..31', Buffer.from(Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e],
    ['32 decrementing bytes 31..0', Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c],
    ['"123456789"', Buffer.from('123456789'), 0xe3069283],
    ['no bytes', Buffer.alloc(0), 0],
  ];
  for (const [name, bytes, expected] of vectors) {
    it(`${name} -> 0x${expected.toString(16).padStart(8, '0')}`, () => {
      expect(crc32c(bytes)).to.equal(expected);
    });
  }

  it('counts the 4 bytes at zeroFrom as zeros, and only those', () => {
    const bytes = Buffer.from('abcdefgh');
    expect(crc32c(bytes, 2)).to.equal(crc32c(Buffer.from([0x61, 0x62, 0, 0, 0, 0, 0x67, 0x68])));
    expect(crc32c(bytes, 0)).to.equal(crc32c(Buffer.from([0, 0, 0, 0, 0x65, 0x66, 0x67, 0x68])));
    expect(crc32c(bytes, undefined)).to.equal(crc32c(bytes));
  });

  it('agrees with the naive bit-at-a-time CRC on any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(crc32c(bytes)).to.equal(naiveCrc32c(Array.from(bytes)));
      }),
      { numRuns: 300 },
    );
  });
});
